// GPT-2's byte <-> character table, checked against facts of the published table.
#include <gtest/gtest.h>

#include <set>

#include "engine/tokenizer/byte_level.h"

namespace kvwb {
namespace {

TEST(ByteLevel, KnownCharacters) {
  EXPECT_EQ(byte_level::char_of(' '), U'\u0120');   // "Ġ"
  EXPECT_EQ(byte_level::char_of('\n'), U'\u010A');  // "Ċ"
  EXPECT_EQ(byte_level::char_of('\t'), U'\u0109');  // "ĉ"
  EXPECT_EQ(byte_level::char_of(0x00), U'\u0100');
  EXPECT_EQ(byte_level::char_of(0x7F), U'\u0121');  // after the 33 bytes 0..32
  EXPECT_EQ(byte_level::char_of(0xAD), U'\u0143');  // the last unprintable byte
  EXPECT_EQ(byte_level::char_of('a'), U'a');
  EXPECT_EQ(byte_level::char_of(0xE9), U'\u00E9');  // printable Latin-1 maps to itself
}

TEST(ByteLevel, IsABijectionOverAllBytes) {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const char32_t c = byte_level::char_of(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(c).second);
    ASSERT_TRUE(byte_level::byte_of(c).has_value());
    EXPECT_EQ(*byte_level::byte_of(c), b);
  }
  EXPECT_FALSE(byte_level::byte_of(U'\u65E5').has_value());
}

TEST(ByteLevel, EncodeAndDecodeTokens) {
  EXPECT_EQ(byte_level::encode("a b\n"), "a\xC4\xA0" "b\xC4\x8A");  // "aĠbĊ"
  EXPECT_EQ(byte_level::encode("\xC3\xA9"), "\xC3\x83\xC2\xA9");      // é -> "Ã©"
  std::string out;
  byte_level::decode_token("\xC3\x83\xC2\xA9", out);
  EXPECT_EQ(out, "\xC3\xA9");
  // A token with a character outside the alphabet stays as it is written.
  out.clear();
  byte_level::decode_token("<\xE6\x97\xA5>", out);
  EXPECT_EQ(out, "<\xE6\x97\xA5>");
}

}  // namespace
}  // namespace kvwb
