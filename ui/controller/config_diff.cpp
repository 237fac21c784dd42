#include "ui/controller/config_diff.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace kvwb {
namespace {

void flatten(const nlohmann::json& j, std::map<std::string, std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_object()) {
      flatten(it.value(), out);  // policy and sampling keys are unique across the config
    } else {
      out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
  }
}

}  // namespace

std::string describe_config_change(const RunConfig& before, const RunConfig& after) {
  std::map<std::string, std::string> a, b;
  flatten(run_config_to_json(before), a);
  flatten(run_config_to_json(after), b);
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  std::string text;
  for (const std::string& k : keys) {
    const auto ia = a.find(k);
    const auto ib = b.find(k);
    const std::string va = ia == a.end() ? "-" : ia->second;
    const std::string vb = ib == b.end() ? "-" : ib->second;
    if (va == vb) continue;
    if (!text.empty()) text += ", ";
    text += (k == "name" ? std::string("policy") : k) + " " + va + " -> " + vb;
  }
  return text;
}

}  // namespace kvwb
