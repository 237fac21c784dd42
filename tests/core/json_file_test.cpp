// JSON reading: every malformed document is an Error naming where it came from.
#include "engine/core/json_file.h"

#include <gtest/gtest.h>

#include "engine/core/error.h"

namespace kvwb {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_json(text, "some/file.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonFile, SyntaxErrorsNameTheFileAndByte) {
  EXPECT_EQ(error_of("{\"a\": }").rfind("some/file.json: malformed JSON at byte 7", 0), 0u) << error_of("{\"a\": }");
}

// Found by fuzzing (tests/fuzz/regressions/tokenizer_json): nlohmann reports a number that
// overflows a double as out_of_range, which escaped parse_json.
TEST(JsonFile, ANumberTooLargeForADoubleIsAnErrorNotACrash) {
  for (const char* text : {"1e999", "{\"vocab_size\": -1e400}", "[1, 2, 1E+99999]"}) {
    const std::string e = error_of(text);
    EXPECT_EQ(e.rfind("some/file.json: malformed JSON", 0), 0u) << text << ": " << e;
  }
  EXPECT_EQ(parse_json("1e308", "x").get<double>(), 1e308);  // large but finite is fine
}

}  // namespace
}  // namespace kvwb
