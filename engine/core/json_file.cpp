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
  }
}

}  // namespace kvwb
