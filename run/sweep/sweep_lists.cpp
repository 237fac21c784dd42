#include "run/sweep/sweep_lists.h"

#include <charconv>

#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"
#include "kernels/kv_dtype.h"

namespace kvwb {

std::vector<std::string> split_list(const std::string& text, const std::string& what) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (true) {
    const size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    const size_t first = item.find_first_not_of(' ');
    item = first == std::string::npos ? "" : item.substr(first, item.find_last_not_of(' ') - first + 1);
    if (item.empty()) {
      if (text.find_first_not_of(" ,") == std::string::npos) fail(what, "empty list");
      fail(what, "empty item in '{}'", text);
    }
    items.push_back(std::move(item));
    if (comma == std::string::npos) return items;
    begin = comma + 1;
  }
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> values;
  for (const std::string& item : split_list(text, what)) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size()) fail(what, "'{}' is not a whole number", item);
    values.push_back(v);
  }
  return values;
}

std::vector<std::string> parse_kv_dtype_list(const std::string& text, const std::string& what) {
  std::vector<std::string> names = split_list(text, what);
  for (const std::string& name : names) {
    if (!kernels::kv_dtype_from_name(name)) fail(what, "'{}' is not a KV dtype (one of {})", name, kernels::kv_dtype_names());
  }
  return names;
}

std::vector<nlohmann::json> parse_config_values(const std::string& text, std::string_view key, const std::string& what) {
  const ConfigField& field = config_field(key);
  std::vector<nlohmann::json> values;
  for (const std::string& item : split_list(text, what)) {
    RunConfig c;
    set_config_field(c, field, item, what);
    const std::string problem = config_field_problem(c, field);
    if (!problem.empty()) fail(what, "{} {}", item, problem);
    values.push_back(field.write(c));
  }
  return values;
}

}  // namespace kvwb
