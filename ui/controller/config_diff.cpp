#include "ui/controller/config_diff.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/config/run_config_schema.h"

namespace kvwb {
namespace {

std::string value_text(const Json& v) {
  if (v.is_discarded() || v.is_null()) return "-";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

std::string describe_config_change(const RunConfig& before, const RunConfig& after) {
  // Sorted by the key inside its object (policy.name reads "policy"), as the marks always were.
  std::vector<std::pair<std::string_view, std::string>> parts;
  for (const ConfigField* f : changed_fields(before, after)) {
    const std::string label = f->key == "policy.name" ? "policy" : std::string(f->leaf());
    parts.emplace_back(f->leaf(), label + " " + value_text(f->write(before)) + " -> " + value_text(f->write(after)));
  }
  std::ranges::sort(parts);
  std::string text;
  for (const auto& [leaf, part] : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

}  // namespace kvwb
