#pragma once
// Template bodies for json_file.h.
#include "engine/core/error.h"

namespace kvwb {

template <typename T>
T json_required(const Json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) fail(where, "missing required field '{}'", key);
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where, "field '{}' has the wrong type ({})", key, it->type_name());
  }
}

template <typename T>
T json_optional(const Json& obj, const char* key, const T& fallback, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where, "field '{}' has the wrong type ({})", key, it->type_name());
  }
}

}  // namespace kvwb
