#include "engine/core/json_file.h"

#include <fstream>
#include <sstream>

namespace kvwb {

Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), path);
}

Json parse_json(const std::string& text, const std::string& where) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail(where, "malformed JSON at byte {}: {}", e.byte, e.what());
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (1e999) is out_of_range, not parse_error: found by
    // fuzzing (tests/fuzz/regressions/tokenizer_json).
    fail(where, "malformed JSON: {}", e.what());
  }
}

}  // namespace kvwb
