// BpeTokenizer built from plain data, the way a GGUF loader will (token list by id, merges as
// "a b", a pre-tokenizer regex, specials by token type): it must reproduce HF's goldens of the
// same Llama-3 style tokenizer without reading its tokenizer.json pipeline.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

using Ids = std::vector<int32_t>;

BpeTokenizerParts llama3_parts_from_plain_data() {
  // Only the raw lists are taken from the file, as GGUF metadata would hold them.
  const Json j = read_json_file(test::tokenizer_fixture("bytelevel_llama3"));
  std::vector<std::string> tokens(j.at("model").at("vocab").size());
  for (const auto& [token, id] : j.at("model").at("vocab").items()) tokens.at(id.get<size_t>()) = token;

  BpeTokenizerParts parts;
  for (size_t id = 0; id < tokens.size(); ++id) parts.model.vocab.emplace_back(tokens[id], static_cast<int32_t>(id));
  for (const Json& m : j.at("model").at("merges")) {
    parts.model.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
  }
  parts.model.ignore_merges = true;
  for (const Json& t : j.at("added_tokens")) {
    AddedToken a;
    a.id = t.at("id").get<int32_t>();
    a.content = t.at("content").get<std::string>();
    a.special = t.at("special").get<bool>();  // GGUF: token_type CONTROL vs USER_DEFINED
    parts.added_tokens.push_back(a);
  }
  parts.pre_tokenizer.add_split(Pattern::regex(kLlama3SplitPattern, "llama3"), SplitBehavior::Isolated, false);
  parts.pre_tokenizer.add_byte_level(false, false);
  parts.decoder.add_byte_level();
  parts.specials = {0, {3}, true};
  return parts;
}

TEST(BpeTokenizer, BuiltFromPlainDataMatchesHfGoldens) {
  const BpeTokenizer tok(llama3_parts_from_plain_data(), "plain data");
  const Json& golden = test::tokenizer_goldens().at("tokenizers").at("bytelevel_llama3");
  for (const Json& c : golden.at("cases")) {
    const auto text = c.at("text").get<std::string>();
    EXPECT_EQ(tok.encode(text, false), c.at("ids").get<Ids>()) << "text: " << text;
    EXPECT_EQ(tok.encode(text, true), c.at("ids_with_specials").get<Ids>()) << "text: " << text;
    EXPECT_EQ(tok.decode(c.at("ids").get<Ids>()), c.at("decoded").get<std::string>());
  }
  EXPECT_EQ(tok.vocab_size(), golden.at("vocab_size").get<int64_t>());
  EXPECT_EQ(tok.model().merge_count(), 1000u - 256u - 4u);
}

TEST(BpeTokenizer, RejectsSpecialIdsOutsideTheVocabulary) {
  BpeTokenizerParts parts = llama3_parts_from_plain_data();
  parts.specials = {5000, {}, true};
  EXPECT_THROW(BpeTokenizer(std::move(parts), "plain data"), Error);
  BpeTokenizerParts eos = llama3_parts_from_plain_data();
  eos.specials = {0, {-2}, true};
  EXPECT_THROW(BpeTokenizer(std::move(eos), "plain data"), Error);
}

TEST(BpeTokenizer, InvalidUtf8InputIsRepairedBeforeEncoding) {
  const BpeTokenizer tok(llama3_parts_from_plain_data(), "plain data");
  EXPECT_EQ(tok.encode("a\xFF" "b", false), tok.encode("a\xEF\xBF\xBD" "b", false));
}

}  // namespace
}  // namespace kvwb
