// make_gguf_tokenizer: the tokenizer fixtures' vocabularies and merges, handed over as GGUF
// metadata would carry them (tokens by id, CONTROL/USER_DEFINED token types, "a b" merges) with
// the llama.cpp pre-tokenizer name of their family, encode every golden string as HF
// tokenizers did (tests/fixtures/tokenizers/goldens.json).
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

// The GGUF view of a tokenizer.json, as llama.cpp's converter writes it.
GgufVocab vocab_of(const std::string& fixture, const std::string& pre) {
  const Json spec = read_json_file(test::tokenizer_fixture(fixture));
  GgufVocab v;
  v.model = "gpt2";
  v.pre = pre;
  size_t size = 0;
  for (const auto& [token, id] : spec.at("model").at("vocab").items()) size = std::max(size, id.get<size_t>() + 1);
  for (const auto& a : spec.at("added_tokens")) size = std::max(size, a.at("id").get<size_t>() + 1);
  v.tokens.resize(size);
  v.token_types.assign(size, static_cast<int32_t>(GgufTokenType::Normal));
  for (const auto& [token, id] : spec.at("model").at("vocab").items()) v.tokens[id.get<size_t>()] = token;
  for (const auto& a : spec.at("added_tokens")) {
    const size_t id = a.at("id").get<size_t>();
    v.tokens[id] = a.at("content").get<std::string>();
    v.token_types[id] = static_cast<int32_t>(a.at("special").get<bool>() ? GgufTokenType::Control : GgufTokenType::UserDefined);
  }
  for (const auto& m : spec.at("model").at("merges")) {
    v.merges.push_back(m.is_string() ? m.get<std::string>() : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
  }
  v.bos_id = 0;
  v.eos_id = 1;
  return v;
}

class GgufVocabGoldens : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(GgufVocabGoldens, EncodesAndDecodesAsHfTokenizers) {
  const auto& [fixture, pre] = GetParam();
  const auto tok = make_gguf_tokenizer(vocab_of(fixture, pre), fixture);
  const Json& g = test::tokenizer_goldens().at("tokenizers").at(fixture);
  int checked = 0;
  for (const auto& c : g.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(text, false), ids) << fixture << ": " << text;
    EXPECT_EQ(tok->decode(ids), c.at("decoded").get<std::string>()) << fixture << ": " << text;
    EXPECT_EQ(tok->decode(ids, true), c.at("decoded_skip_special").get<std::string>()) << fixture << ": " << text;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

INSTANTIATE_TEST_SUITE_P(Families, GgufVocabGoldens,
                         ::testing::Values(std::pair<std::string, std::string>{"bytelevel_llama3", "llama-bpe"},
                                           std::pair<std::string, std::string>{"bytelevel_smollm2", "smollm"}),
                         [](const auto& info) { return info.param.first; });

TEST(GgufVocab, SpecialIdsAndAddBos) {
  GgufVocab v = vocab_of("bytelevel_smollm2", "smollm");
  v.eot_id = 2;
  v.eom_id = 1;  // the same as eos: listed once
  auto tok = make_gguf_tokenizer(v, "m.gguf");
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_ids(), (std::vector<int32_t>{1, 2}));
  EXPECT_FALSE(tok->add_bos_by_default());  // gpt2 vocabularies default to no BOS
  EXPECT_TRUE(tok->is_special(2));
  v.add_bos = true;
  EXPECT_TRUE(make_gguf_tokenizer(v, "m.gguf")->add_bos_by_default());
}

TEST(GgufVocab, ErrorsNameTheKey) {
  auto error = [](const GgufVocab& v) {
    try {
      make_gguf_tokenizer(v, "m.gguf");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  GgufVocab v = vocab_of("bytelevel_smollm2", "smollm");
  v.pre = "";
  EXPECT_EQ(error(v).rfind("m.gguf: tokenizer.ggml.pre '(absent)' is not a pre-tokenizer kvwb knows (known: gpt-2,", 0), 0u);
  v = vocab_of("bytelevel_smollm2", "smollm");
  v.model = "bert";
  EXPECT_EQ(error(v), "m.gguf: tokenizer.ggml.model 'bert' is not supported (kvwb reads 'gpt2' byte-level BPE vocabularies)");
  v = vocab_of("bytelevel_smollm2", "smollm");
  v.token_types.pop_back();
  EXPECT_EQ(error(v), "m.gguf: tokenizer.ggml.token_type has 799 entries for 800 tokens");
  v = vocab_of("bytelevel_smollm2", "smollm");
  v.merges.push_back("Ġ Ġ Ġ");
  EXPECT_NE(error(v).find("expected two tokens separated by one space"), std::string::npos);
  v = vocab_of("bytelevel_smollm2", "smollm");
  v.bos_id = 800;
  EXPECT_EQ(error(v), "m.gguf: tokenizer.ggml.bos_token_id 800 is outside the vocabulary (800 tokens)");
}

}  // namespace
}  // namespace kvwb
