#pragma once
// Comma-separated list flags (kvwb-cli sweep --policies a,b --budget-tokens 64,128). Errors
// name the flag: "--budget-tokens: empty list", "--budget-tokens: 'x' is not a whole number".
#include <cstdint>
#include <string>
#include <vector>

namespace kvwb::cli {

std::vector<std::string> split_list(const std::string& text, const std::string& flag);
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);

}  // namespace kvwb::cli
