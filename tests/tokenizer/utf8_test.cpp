// UTF-8 walking and repair; expectations follow Unicode's "maximal subpart" rule (the one
// Python's and Rust's lossy decoders use).
#include <gtest/gtest.h>

#include "engine/tokenizer/utf8.h"

namespace kvwb {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, NextDecodesCharactersAndFlagsInvalidBytes) {
  const std::string s = "a\xC3\xA9\xF0\x9F\x98\x80\xFF";  // a é 😀 <FF>
  utf8::Char c = utf8::next(s, 0);
  EXPECT_TRUE(c.valid);
  EXPECT_EQ(c.code, U'a');
  c = utf8::next(s, 1);
  EXPECT_EQ(c.code, 0xE9u);
  EXPECT_EQ(c.size, 2u);
  c = utf8::next(s, 3);
  EXPECT_EQ(c.code, 0x1F600u);
  EXPECT_EQ(c.size, 4u);
  c = utf8::next(s, 7);
  EXPECT_FALSE(c.valid);
  EXPECT_EQ(c.size, 1u);
}

TEST(Utf8, RejectsSurrogatesOverlongsAndTruncation) {
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(utf8::is_valid("\xC0\xAF"));      // overlong '/'
  EXPECT_FALSE(utf8::is_valid("\xE6\x97"));      // first two bytes of 日
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_TRUE(utf8::is_valid("\xE6\x97\xA5 ok"));
}

TEST(Utf8, ToValidReplacesEachMaximalSubpart) {
  EXPECT_EQ(utf8::to_valid("a\xFF" "b"), "a" + kFffd + "b");
  EXPECT_EQ(utf8::to_valid("\xE6\x97"), kFffd);              // one subpart of two bytes
  EXPECT_EQ(utf8::to_valid("\xF0\x9F\x98!"), kFffd + "!");   // truncated emoji
  EXPECT_EQ(utf8::to_valid("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate: three
  EXPECT_EQ(utf8::to_valid("ok \xE6\x97\xA5"), "ok \xE6\x97\xA5");
}

TEST(Utf8, IncompleteTailHoldsOnlyCharactersThatMayStillComplete) {
  EXPECT_EQ(utf8::incomplete_tail("ab\xE6\x97"), 2u);
  EXPECT_EQ(utf8::incomplete_tail("ab\xE6\x97\xA5"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8::incomplete_tail("ab\xFF"), 0u);   // can never complete
  EXPECT_EQ(utf8::incomplete_tail("a\x80"), 0u);    // stray continuation byte
  EXPECT_EQ(utf8::incomplete_tail("\xE6\x41"), 0u); // broken, not unfinished
  EXPECT_EQ(utf8::incomplete_tail(""), 0u);
}

TEST(Utf8, AppendEncodesEveryLength) {
  std::string s;
  for (char32_t c : {U'A', U'\u00E9', U'\u65E5', U'\U0001F600'}) utf8::append(s, c);
  EXPECT_EQ(s, "A\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80");
}

TEST(Utf8, WhitespaceIsUnicodeWhiteSpace) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\r', U'\u00A0', U'\u3000', U'\u2028'}) EXPECT_TRUE(utf8::is_whitespace(c));
  for (char32_t c : {U'a', U'_', U'\u200B', U'\u00E9'}) EXPECT_FALSE(utf8::is_whitespace(c));
}

}  // namespace
}  // namespace kvwb
