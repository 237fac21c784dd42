#pragma once
// Comma-separated lists of a sweep's axes, as typed in kvwb-cli sweep's flags and the GUI's
// Sweep panel ("batch-max, kv-compress", "64,128"). Errors name `what` (the flag or field):
// "--budget-tokens: empty list", "--budget-tokens: 'x' is not a whole number".
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvwb {

std::vector<std::string> split_list(const std::string& text, const std::string& what);
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);
// KV dtype names (kernels/kv_dtype.h): "--kv-dtypes: 'q5_0' is not a KV dtype (one of f32, ...)".
std::vector<std::string> parse_kv_dtype_list(const std::string& text, const std::string& what);
// Values of the RunConfig field `key`, each parsed and checked by its schema row and returned as
// the config's JSON writes it: "--windows: 'x' is not a whole number", "--windows: 0 must be at least 1".
std::vector<nlohmann::json> parse_config_values(const std::string& text, std::string_view key, const std::string& what);

}  // namespace kvwb
