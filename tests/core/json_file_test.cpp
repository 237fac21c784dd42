// JSON reading: every malformed document is an Error naming where it came from.
#include "engine/core/json_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

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


// The message of the Error `read` throws, "" when it throws none.
template <typename F>
std::string error_from(F read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Integer fields: nlohmann casts a float to the target type (undefined behaviour outside its
// range) and wraps an integer that does not fit; json_integer refuses both, naming file and key.
TEST(JsonFile, AnIntegerFieldRefusesFloatsOutsideTheRangeAndFractions) {
  const std::string file = "some/file.json";
  const auto required_int = [&](const char* text) { return json_required<int>(parse_json(text, file), "n", file); };
  EXPECT_EQ(error_from([&] { required_int(R"({"n": 1e30})"); }),
            "some/file.json: field 'n' is out of range (must be in [-2147483648, 2147483647]): 1e+30");
  EXPECT_EQ(error_from([&] { json_required<int64_t>(parse_json(R"({"count": 2.5})", file), "count", file); }),
            "some/file.json: field 'count' must be a whole number, got 2.5");
  EXPECT_EQ(error_from([&] { json_required<uint32_t>(parse_json(R"({"u": -1})", file), "u", file); }),
            "some/file.json: field 'u' is out of range (must be in [0, 4294967295]): -1");
  EXPECT_EQ(error_from([&] { json_optional<uint64_t>(parse_json(R"({"u": -1.0})", file), "u", 7, file); }),
            "some/file.json: field 'u' is out of range (must be in [0, 18446744073709551615]): -1.0");
  EXPECT_EQ(error_from([&] { required_int(R"({"n": "3"})"); }),
            "some/file.json: field 'n' has the wrong type (string), expected an integer");
  EXPECT_EQ(error_from([&] { json_required<int>(Json{{"n", INFINITY}}, "n", file); }),
            "some/file.json: field 'n' must be a whole number, got null");  // dump() of inf is null
  // A whole float inside the range is its integer; a missing field is the fallback.
  EXPECT_EQ(required_int(R"({"n": 3.0})"), 3);
  EXPECT_EQ(required_int(R"({"n": -7})"), -7);
  EXPECT_EQ(json_optional<int>(parse_json("{}", file), "n", 42, file), 42);
}

// The edges of each range, by hand: INT32 is [-2^31, 2^31 - 1], uint8 [0, 255], int64
// [-2^63, 2^63 - 1], uint64 [0, 2^64 - 1]. 2^63 and 2^64 are exact doubles; 2^64 - 2048 is the
// largest double below 2^64.
TEST(JsonFile, IntegerRangesEndExactlyAtTheTypesLimits) {
  const std::string w = "w.json";
  const auto fits = [&](auto type_tag, const char* number) {
    using T = decltype(type_tag);
    return error_from([&] { json_integer<T>(parse_json(number, w), "k", w); }).empty();
  };
  EXPECT_TRUE(fits(int32_t{}, "2147483647"));
  EXPECT_TRUE(fits(int32_t{}, "2147483647.0"));
  EXPECT_FALSE(fits(int32_t{}, "2147483648"));
  EXPECT_FALSE(fits(int32_t{}, "2147483648.0"));
  EXPECT_TRUE(fits(int32_t{}, "-2147483648.0"));
  EXPECT_FALSE(fits(int32_t{}, "-2147483649"));
  EXPECT_TRUE(fits(uint8_t{}, "255"));
  EXPECT_FALSE(fits(uint8_t{}, "256"));
  EXPECT_FALSE(fits(uint8_t{}, "-0.5"));
  EXPECT_TRUE(fits(int64_t{}, "9223372036854775807"));
  EXPECT_FALSE(fits(int64_t{}, "9223372036854775808"));    // an unsigned in the JSON
  EXPECT_FALSE(fits(int64_t{}, "9223372036854775807.0"));  // rounds to 2^63
  EXPECT_TRUE(fits(int64_t{}, "-9223372036854775808.0"));  // -2^63
  EXPECT_TRUE(fits(uint64_t{}, "18446744073709551615"));
  EXPECT_FALSE(fits(uint64_t{}, "18446744073709551616.0"));  // 2^64
  EXPECT_EQ(json_integer<int64_t>(parse_json("-9223372036854775808.0", w), "k", w), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json_integer<uint64_t>(parse_json("18446744073709549568.0", w), "k", w), 18446744073709549568ull);
  EXPECT_EQ(json_integer<uint64_t>(parse_json("18446744073709551615", w), "k", w), 18446744073709551615ull);
}

}  // namespace
}  // namespace kvwb
