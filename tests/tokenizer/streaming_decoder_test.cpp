// StreamingDecoder: pieces are always valid UTF-8 and add up to the whole decode.
#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

using Ids = std::vector<int32_t>;
const std::string kFffd = "\xEF\xBF\xBD";

TEST(StreamingDecoder, HoldsBackACharacterUntilItsLastByte) {
  const auto tok = make_byte_tokenizer();
  StreamingDecoder d(*tok);
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.push(0x9F), "");
  EXPECT_EQ(d.push(0x98), "");
  EXPECT_EQ(d.push(0x80), "\xF0\x9F\x98\x80");  // 😀
  EXPECT_EQ(d.push('!'), "!");
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamingDecoder, BrokenBytesComeOutAsReplacementAtOnce) {
  const auto tok = make_byte_tokenizer();
  StreamingDecoder d(*tok);
  EXPECT_EQ(d.push(0xFF), kFffd);  // can never start a character
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xE6), "");
  EXPECT_EQ(d.push(0x97), "");
  EXPECT_EQ(d.push('b'), kFffd + "b");  // the truncated 日 is one U+FFFD
  EXPECT_EQ(d.push(0xE6), "");
  EXPECT_EQ(d.flush(), kFffd);
  EXPECT_EQ(d.push('c'), "c");  // usable again after flush
}

TEST(StreamingDecoder, SkipsSpecialsWhenAsked) {
  const auto tok = make_byte_tokenizer();
  StreamingDecoder keep(*tok), skip(*tok, true);
  std::string kept, skipped;
  for (int32_t id : Ids{256, 'h', 'i', 257}) {
    kept += keep.push(id);
    skipped += skip.push(id);
  }
  EXPECT_EQ(kept + keep.flush(), "<bos>hi<eos>");
  EXPECT_EQ(skipped + skip.flush(), "hi");
}

// For every fixture and golden string: streaming the ids one by one yields valid pieces whose
// concatenation is decode() of all the ids (context-dependent decoders included: Llama-2's
// leading-space strip, Metaspace's first token, GPT-2's split multi-byte characters).
class StreamingFixtures : public ::testing::TestWithParam<std::string> {};

TEST_P(StreamingFixtures, PiecesAddUpToTheWholeDecode) {
  const auto tok = load_tokenizer_json(test::tokenizer_fixture(GetParam()));
  for (const Json& c : test::tokenizer_goldens().at("tokenizers").at(GetParam()).at("cases")) {
    const auto ids = c.at("ids").get<Ids>();
    StreamingDecoder d(*tok);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string piece = d.push(id);
      EXPECT_TRUE(utf8::is_valid(piece));
      streamed += piece;
    }
    streamed += d.flush();
    EXPECT_EQ(streamed, tok->decode(ids)) << "text: " << c.at("text");
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, StreamingFixtures,
                         ::testing::Values("bytelevel_llama3", "bytelevel_gpt2", "bytelevel_smollm2",
                                           "metaspace_llama2", "metaspace_first", "byte"));

}  // namespace
}  // namespace kvwb
