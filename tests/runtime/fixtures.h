#pragma once
// Access to the committed fixture models and their golden values from transformers.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "engine/core/json_file.h"
#include "engine/model/model.h"

namespace kvwb::testing_support {

inline std::string source_dir() { return KVWB_SOURCE_DIR; }
inline std::string fixture_dir(const std::string& name) { return source_dir() + "/tests/fixtures/models/" + name; }

inline const nlohmann::json& goldens() {
  static const nlohmann::json g = read_json_file(source_dir() + "/tests/fixtures/models/goldens.json");
  return g;
}

inline std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& [name, value] : goldens().at("fixtures").items()) names.push_back(name);
  return names;
}

inline std::vector<std::vector<int32_t>> golden_prompts() {
  return goldens().at("prompt_ids").get<std::vector<std::vector<int32_t>>>();
}

}  // namespace kvwb::testing_support
