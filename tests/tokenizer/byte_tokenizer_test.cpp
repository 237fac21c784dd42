// The demo model's byte tokenizer: ids are bytes, specials from 256, and its tokenizer.json
// is the one HF reads (compared with the fixture tools/make_tokenizer_fixtures.py wrote).
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/byte_tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

using Ids = std::vector<int32_t>;

TEST(ByteTokenizer, IdsAreBytesAndSpecialsFollow) {
  const auto tok = make_byte_tokenizer({{"<sep>", "<tool>"}, true});
  EXPECT_EQ(tok->encode("hi", false), (Ids{'h', 'i'}));
  EXPECT_EQ(tok->encode("hi", true), (Ids{256, 'h', 'i'}));
  EXPECT_EQ(tok->encode("a<eos>b<sep><tool>", false), (Ids{'a', 257, 'b', 259, 260}));
  EXPECT_EQ(tok->encode("\xC3\xA9", false), (Ids{0xC3, 0xA9}));
  EXPECT_EQ(tok->vocab_size(), 261);
  EXPECT_EQ(tok->bos_id(), kByteBosId);
  EXPECT_EQ(tok->eos_ids(), (Ids{kByteEosId}));
  EXPECT_TRUE(tok->add_bos_by_default());
  EXPECT_TRUE(tok->is_special(kBytePadId));
  EXPECT_FALSE(tok->is_special('a'));
  EXPECT_EQ(tok->token_id("<pad>"), kBytePadId);
  EXPECT_EQ(tok->token_id("<0x41>"), 0x41);
  EXPECT_EQ(tok->token_id("<0x4a>"), -1);  // the vocab spells hex in upper case
  EXPECT_FALSE(make_byte_tokenizer({{}, false})->add_bos_by_default());
}

TEST(ByteTokenizer, DecodeRendersOrSkipsSpecialsAndKeepsAnyBytesRaw) {
  const auto tok = make_byte_tokenizer();
  const Ids ids{256, 'o', 'k', 257};
  EXPECT_EQ(tok->decode(ids), "<bos>ok<eos>");
  EXPECT_EQ(tok->decode(ids, true), "ok");
  // Invalid UTF-8 survives encode -> decode_raw; decode() replaces like HF's ByteFallback.
  const std::string broken = "a\xFF";
  EXPECT_EQ(tok->encode(broken, false), (Ids{'a', 0xFF}));
  EXPECT_EQ(tok->decode_raw(tok->encode(broken, false)), broken);
  EXPECT_EQ(tok->decode(tok->encode(broken, false)), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok->decode(Ids{'x', 9999, -1}), "x");  // unknown ids are skipped
}

TEST(ByteTokenizer, WrittenJsonIsTheFixtureHfRead) {
  const Json written = parse_json(byte_tokenizer_json({{"<sep>"}, true}), "written");
  const Json fixture = read_json_file(test::tokenizer_fixture("byte"));
  for (const char* key : {"model", "added_tokens", "decoder", "post_processor", "normalizer", "pre_tokenizer"}) {
    EXPECT_EQ(written.at(key), fixture.at(key)) << key;
  }
  const Json no_bos = parse_json(byte_tokenizer_json({{}, false}), "written");
  EXPECT_TRUE(no_bos.at("post_processor").is_null());
}

TEST(ByteTokenizer, WrittenFileLoadsAsTheFastByteTokenizer) {
  test::ScratchDir dir("byte_tokenizer_written");
  write_byte_tokenizer_json(dir.file("tokenizer.json"), {{"<sep>"}, true});
  const auto tok = load_tokenizer_json(dir.file("tokenizer.json"));
  EXPECT_NE(dynamic_cast<const ByteTokenizer*>(tok.get()), nullptr);
  const auto made = make_byte_tokenizer({{"<sep>"}, true});
  const std::string text = "<bos>x <sep> \xE6\x97\xA5\t\n<eos>";
  EXPECT_EQ(tok->encode(text, true), made->encode(text, true));
  EXPECT_EQ(tok->bos_id(), 256);
  EXPECT_EQ(tok->eos_ids(), (Ids{257}));
  EXPECT_TRUE(tok->add_bos_by_default());
  EXPECT_THROW(write_byte_tokenizer_json(dir.file("no/such/dir/tokenizer.json")), Error);
}

TEST(ByteTokenizer, FileWithAPreTokenizerIsNotTakenForTheByteShape) {
  // Same vocabulary, but a pre-tokenizer: the general BPE path must load it, with equal ids.
  test::ScratchDir dir("byte_tokenizer_general");
  Json spec = parse_json(byte_tokenizer_json(), "written");
  spec["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  dir.write("tokenizer.json", spec.dump());
  const auto tok = load_tokenizer_json(dir.file("tokenizer.json"));
  EXPECT_NE(dynamic_cast<const BpeTokenizer*>(tok.get()), nullptr);
  EXPECT_EQ(tok->encode("ab 12", false), (Ids{'a', 'b', ' ', '1', '2'}));
}

TEST(ByteTokenizer, RejectsSpecialsInsideTheByteRange) {
  AddedToken bad;
  bad.id = 65;
  bad.content = "<x>";
  EXPECT_THROW(ByteTokenizer({bad}, {}, "test"), Error);
  EXPECT_THROW(make_byte_tokenizer({{""}, true}), Error);
}

}  // namespace
}  // namespace kvwb
