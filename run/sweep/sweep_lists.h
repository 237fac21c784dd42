#pragma once
// Comma-separated lists of a sweep's axes, as typed in kvwb-cli sweep's flags and the GUI's
// Sweep panel ("batch-max, kv-compress", "64,128"). Errors name `what` (the flag or field):
// "--budget-tokens: empty list", "--budget-tokens: 'x' is not a whole number".
#include <cstdint>
#include <string>
#include <vector>

namespace kvwb {

std::vector<std::string> split_list(const std::string& text, const std::string& what);
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);
// KV dtype names (kernels/kv_dtype.h): "--kv-dtypes: 'q5_0' is not a KV dtype (one of f32, ...)".
std::vector<std::string> parse_kv_dtype_list(const std::string& text, const std::string& what);

}  // namespace kvwb
