// Decoder steps, with the outputs tokenizers documents or computes for the same tokens.
#include <gtest/gtest.h>

#include "engine/tokenizer/decoder.h"

namespace kvwb {
namespace {

const std::string kM = "\xE2\x96\x81";  // ▁
const std::string kFffd = "\xEF\xBF\xBD";

Decoder llama2_decoder() {
  Decoder d;
  d.add_replace(Pattern::literal(kM), " ");
  d.add_byte_fallback();
  d.add_fuse();
  d.add_strip(U' ', 1, 0);
  return d;
}

TEST(Decoder, Llama2SequenceRebuildsText) {
  EXPECT_EQ(llama2_decoder().decode({kM + "Hello", kM, "<0xE6>", "<0x97>", "<0xA5>", "!"}), "Hello \xE6\x97\xA5!");
  EXPECT_EQ(llama2_decoder().decode({kM + kM + "x"}), " x");  // Strip removes one space only
}

TEST(Decoder, ByteFallbackReplacesEveryByteOfAnInvalidRun) {
  Decoder d;
  d.add_byte_fallback();
  d.add_fuse();
  // tokenizers: a run of byte tokens that is not valid UTF-8 gives one U+FFFD per byte, even
  // for the valid bytes in it.
  EXPECT_EQ(d.decode({"<0x61>", "<0xFF>", "b", "<0xE6>", "<0x97>"}), kFffd + kFffd + "b" + kFffd + kFffd);
  EXPECT_EQ(d.decode_raw({"<0x61>", "<0xFF>", "b", "<0xE6>", "<0x97>"}), "a\xFF" "b\xE6\x97");
  EXPECT_EQ(d.decode({"<0x0a>"}), "\n");  // lower-case hex is a byte token too
  EXPECT_EQ(d.decode({"<0xZZ>", "<0x4>"}), "<0xZZ><0x4>");
}

TEST(Decoder, StripCutsAtMostStartAndStopCharacters) {
  Decoder d;
  d.add_strip(U' ', 2, 1);
  EXPECT_EQ(d.decode({"   ab  "}), " ab ");
  EXPECT_EQ(d.decode({" "}), "");
  EXPECT_EQ(d.decode({"ab"}), "ab");
}

TEST(Decoder, MetaspaceDropsEveryReplacementOfTheFirstToken) {
  Decoder d;
  d.add_metaspace(kM, PrependScheme::Always);
  EXPECT_EQ(d.decode({kM + "Hey", kM + "friend"}), "Hey friend");
  EXPECT_EQ(d.decode({kM + "a" + kM + "b", kM + "c"}), "ab c");
  Decoder never;
  never.add_metaspace(kM, PrependScheme::Never);
  EXPECT_EQ(never.decode({kM + "Hey", kM + "friend"}), " Hey friend");
}

TEST(Decoder, ByteLevelMapsCharactersBackToBytes) {
  Decoder d;
  d.add_byte_level();
  EXPECT_EQ(d.decode({"Hello", "\xC4\xA0world"}), "Hello world");
  EXPECT_EQ(d.decode({"\xC3\xA6", "\xC4\xB9"}), kFffd);  // "æĹ" = E6 97: a truncated 日
  EXPECT_EQ(d.decode_raw({"\xC3\xA6", "\xC4\xB9"}), "\xE6\x97");
  EXPECT_EQ(d.decode({"<|end|>"}), "<|end|>");
}

TEST(Decoder, WithoutStepsJoinsTokensWithSpaces) {
  EXPECT_EQ(Decoder().decode({"a", "b", "c"}), "a b c");
  EXPECT_EQ(Decoder().decode({}), "");
}

TEST(Decoder, ByteTokenNames) {
  EXPECT_EQ(byte_token_name(0x0A), "<0x0A>");
  EXPECT_EQ(parse_byte_token("<0xFF>"), 255);
  EXPECT_EQ(parse_byte_token("<0x0G>"), -1);
  EXPECT_EQ(parse_byte_token("<0xFF"), -1);
}

}  // namespace
}  // namespace kvwb
