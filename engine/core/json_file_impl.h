#pragma once
// Template bodies for json_file.h.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "engine/core/error.h"

namespace kvwb {

template <typename T>
T json_integer(const Json& v, std::string_view key, const std::string& where) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "json_integer reads integer types");
  constexpr T lo = std::numeric_limits<T>::min();
  constexpr T hi = std::numeric_limits<T>::max();
  const auto out_of_range = [&] { fail(where, "field '{}' is out of range (must be in [{}, {}]): {}", key, lo, hi, v.dump()); };
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (!std::in_range<T>(u)) out_of_range();
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (!std::in_range<T>(i)) out_of_range();
    return static_cast<T>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::trunc(d)) fail(where, "field '{}' must be a whole number, got {}", key, v.dump());
    // lo (0 or -2^k) and hi + 1 (2^k) are exact as doubles; hi itself may round up (2^64 - 1).
    const double below = static_cast<double>(lo);
    const double above = 2.0 * static_cast<double>(hi / 2 + 1);
    if (!(d >= below && d < above)) out_of_range();
    return static_cast<T>(d);
  }
  fail(where, "field '{}' has the wrong type ({}), expected an integer", key, v.type_name());
}

namespace detail {
template <typename T>
T json_get(const Json& v, const char* key, const std::string& where) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return json_integer<T>(v, key, where);
  } else {
    try {
      return v.template get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(where, "field '{}' has the wrong type ({})", key, v.type_name());
    }
  }
}
}  // namespace detail

template <typename T>
T json_required(const Json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) fail(where, "missing required field '{}'", key);
  return detail::json_get<T>(*it, key, where);
}

template <typename T>
T json_optional(const Json& obj, const char* key, const T& fallback, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  return detail::json_get<T>(*it, key, where);
}

}  // namespace kvwb
