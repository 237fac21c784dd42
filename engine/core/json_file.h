#pragma once
// Reading JSON files with errors that name the file and, for syntax errors, the byte offset.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace kvwb {

using Json = nlohmann::json;

// Parses the whole file. Throws Error("<path>: ...") when missing or malformed.
Json read_json_file(const std::string& path);

// Parses text that came from `where` (a file path, or "<path>:<line>" for JSONL).
Json parse_json(const std::string& text, const std::string& where);

// Typed access to a required or optional field, with errors naming `where` and the key. An
// integer type reads through json_integer.
template <typename T>
T json_required(const Json& obj, const char* key, const std::string& where);
template <typename T>
T json_optional(const Json& obj, const char* key, const T& fallback, const std::string& where);

// A JSON number `v` (the value of `key`) as an integer of type T. Throws Error naming `where`
// and the key when it is not a number, not a whole number (2.5) or outside T's range (1e30 for
// an int, -1 for an unsigned): nlohmann's own conversion casts a float, undefined behaviour out
// of range, and wraps an integer that does not fit.
template <typename T>
T json_integer(const Json& v, std::string_view key, const std::string& where);

}  // namespace kvwb

#include "engine/core/json_file_impl.h"
