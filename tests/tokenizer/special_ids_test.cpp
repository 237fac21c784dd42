// BOS / EOS / add-BOS resolution from tokenizer.json, the files beside it and the defaults.
#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

using Ids = std::vector<int32_t>;

// Byte-level vocabulary with three specials: <s> 3, </s> 4, <|im_end|> 5.
Json spec(bool metaspace = false) {
  Json j = parse_json(R"({
    "added_tokens": [{"id": 3, "content": "<s>", "special": true},
                     {"id": 4, "content": "</s>", "special": true},
                     {"id": 5, "content": "<|im_end|>", "special": true}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}
  })", "spec");
  if (metaspace) j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}};
  return j;
}

class SpecialIds : public ::testing::Test {
 protected:
  std::unique_ptr<Tokenizer> load(const Json& j, const TokenizerDefaults& defaults = {}) {
    dir_.write("tokenizer.json", j.dump());
    return load_tokenizer_json(dir_.file("tokenizer.json"), defaults);
  }
  test::ScratchDir dir_{"tokenizer_special_ids"};
};

TEST_F(SpecialIds, NothingKnownMeansNoBosNoEos) {
  const auto tok = load(spec());
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_TRUE(tok->eos_ids().empty());
  EXPECT_FALSE(tok->add_bos_by_default());
  EXPECT_EQ(tok->encode("ab", true), (Ids{2}));  // no BOS to add
}

TEST_F(SpecialIds, DefaultsFillIn) {
  const auto tok = load(spec(), {3, {4, 5}});
  EXPECT_EQ(tok->bos_id(), 3);
  EXPECT_EQ(tok->eos_ids(), (Ids{4, 5}));
  EXPECT_FALSE(tok->add_bos_by_default());  // byte-level without a template: no BOS by default
  EXPECT_EQ(tok->encode("ab", true), (Ids{3, 2}));
}

TEST_F(SpecialIds, TokenizerConfigNamesTokensInEitherForm) {
  dir_.write("tokenizer_config.json",
             R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "add_bos_token": true})");
  const auto tok = load(spec(), {-1, {5}});
  EXPECT_EQ(tok->bos_id(), 3);
  EXPECT_EQ(tok->eos_ids(), (Ids{4, 5}));
  EXPECT_TRUE(tok->add_bos_by_default());
}

TEST_F(SpecialIds, EosIsTheUnionOfEveryFileInOrder) {
  dir_.write("tokenizer_config.json", R"({"bos_token": null, "eos_token": "<|im_end|>"})");
  dir_.write("generation_config.json", R"({"bos_token_id": 3, "eos_token_id": [4, 5]})");
  dir_.write("config.json", R"({"eos_token_id": 4, "bos_token_id": 4})");
  const auto tok = load(spec());
  EXPECT_EQ(tok->eos_ids(), (Ids{5, 4}));
  EXPECT_EQ(tok->bos_id(), 3);  // generation_config before config.json
}

TEST_F(SpecialIds, SentencePieceFamilyAddsBosByDefaultUnlessConfigSaysNo) {
  dir_.write("config.json", R"({"bos_token_id": 3})");
  EXPECT_TRUE(load(spec(true))->add_bos_by_default());
  dir_.write("tokenizer_config.json", R"({"add_bos_token": false})");
  EXPECT_FALSE(load(spec(true))->add_bos_by_default());
}

TEST_F(SpecialIds, TemplateBosWinsAndTurnsBosOn) {
  Json j = spec();
  j["post_processor"] = parse_json(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "trim_offsets": false},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "special_tokens": {"</s>": {"id": "</s>", "ids": [4], "tokens": ["</s>"]}}}]})", "pp");
  dir_.write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  const auto tok = load(j);
  EXPECT_EQ(tok->bos_id(), 4);
  EXPECT_TRUE(tok->add_bos_by_default());
}

TEST(SpecialIdsFixtures, Llama3AndGpt2Styles) {
  const auto llama3 = load_tokenizer_json(test::tokenizer_fixture("bytelevel_llama3"));
  EXPECT_EQ(llama3->bos_id(), llama3->token_id("<|begin_of_text|>"));
  // tokenizer_config's eos first, then generation_config's list.
  EXPECT_EQ(llama3->eos_ids(), (Ids{llama3->token_id("<|im_end|>"), llama3->token_id("<|end_of_text|>")}));
  EXPECT_TRUE(llama3->is_special(llama3->token_id("<|im_start|>")));
  EXPECT_FALSE(llama3->is_special(llama3->token_id("<tool>")));  // added, not special

  const auto gpt2 = load_tokenizer_json(test::tokenizer_fixture("bytelevel_gpt2"));
  EXPECT_EQ(gpt2->bos_id(), gpt2->token_id("<|endoftext|>"));
  EXPECT_EQ(gpt2->eos_ids(), (Ids{gpt2->token_id("<|endoftext|>")}));
  EXPECT_FALSE(gpt2->add_bos_by_default());

  const auto smollm2 = load_tokenizer_json(test::tokenizer_fixture("bytelevel_smollm2"));
  EXPECT_EQ(smollm2->bos_id(), smollm2->token_id("<|im_start|>"));
  EXPECT_EQ(smollm2->eos_ids(), (Ids{smollm2->token_id("<|im_end|>")}));  // config.json agrees
  EXPECT_FALSE(smollm2->add_bos_by_default());

  const auto llama2 = load_tokenizer_json(test::tokenizer_fixture("metaspace_llama2"));
  EXPECT_EQ(llama2->bos_id(), 1);
  EXPECT_EQ(llama2->eos_ids(), (Ids{2}));
  const auto first = load_tokenizer_json(test::tokenizer_fixture("metaspace_first"), {-1, {2}});
  EXPECT_EQ(first->bos_id(), 1);  // from the template alone
  EXPECT_EQ(first->eos_ids(), (Ids{2}));
}

}  // namespace
}  // namespace kvwb
