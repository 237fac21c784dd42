// Bad tokenizer files give a kvwb::Error naming the file and the problem, never a crash.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

// A small valid byte-level tokenizer.json to break one field at a time.
Json valid_spec() {
  return parse_json(R"({
    "version": "1.0",
    "added_tokens": [{"id": 4, "content": "<|end|>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3}, "merges": ["a b"]}
  })", "spec");
}

class LoadErrors : public ::testing::Test {
 protected:
  // Loads `spec` from a file and returns the error message ("" when it loaded).
  std::string load_error(const Json& spec) {
    dir_.write("tokenizer.json", spec.dump());
    return load_error_path(dir_.file("tokenizer.json"));
  }
  static std::string load_error_path(const std::string& path) {
    try {
      load_tokenizer_json(path);
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  }
  void expect_error(const Json& spec, const std::string& problem) {
    const std::string message = load_error(spec);
    EXPECT_EQ(message.rfind(dir_.file("tokenizer.json"), 0), 0u) << message;  // names the file first
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
  test::ScratchDir dir_{"tokenizer_load_errors"};
};

TEST_F(LoadErrors, ValidSpecLoads) {
  EXPECT_EQ(load_error(valid_spec()), "");
  const auto tok = load_tokenizer_json(dir_.file("tokenizer.json"));
  EXPECT_EQ(tok->encode("ab<|end|>", false), (std::vector<int32_t>{2, 4}));
}

TEST_F(LoadErrors, MissingFile) {
  const std::string path = dir_.file("absent/tokenizer.json");
  EXPECT_EQ(load_error_path(path), path + ": cannot open file");
}

TEST_F(LoadErrors, MalformedJson) {
  dir_.write("tokenizer.json", R"({"model": {"type": "BPE", )");
  const std::string message = load_error_path(dir_.file("tokenizer.json"));
  EXPECT_NE(message.find(dir_.file("tokenizer.json") + ": malformed JSON"), std::string::npos) << message;
}

TEST_F(LoadErrors, UnsupportedModelTypes) {
  for (const char* type : {"WordPiece", "Unigram", "WordLevel"}) {
    Json spec = valid_spec();
    spec["model"]["type"] = type;
    expect_error(spec, fmt::format("model type '{}' is not supported", type));
  }
  Json spec = valid_spec();
  spec.erase("model");
  expect_error(spec, "missing required field 'model'");
}

TEST_F(LoadErrors, MergeNamingAnAbsentToken) {
  Json spec = valid_spec();
  spec["model"]["merges"] = {"a b", "b zz"};
  expect_error(spec, "model.merges[1]: token 'zz' is not in the vocabulary");
  spec["model"]["merges"] = {"a b c"};
  expect_error(spec, "merges[0] 'a b c' is not two tokens separated by one space");
  spec["model"]["merges"] = Json::array({Json::array({"a", 1})});
  expect_error(spec, "merges[0] must be");
}

TEST_F(LoadErrors, BadVocab) {
  Json spec = valid_spec();
  spec["model"]["vocab"]["c"] = "three";
  expect_error(spec, "vocab['c'] must be an integer id");
  spec["model"]["vocab"]["c"] = 1;
  expect_error(spec, "id 1 is used by both");
}

// Ids that do not fit the id type are refused, not wrapped: 2^32 read as an int32 used to
// become 0, a real token ('a'), so the file loaded with a wrong BOS.
TEST_F(LoadErrors, IdsOutsideTheIdTypeAreRefusedNotWrapped) {
  Json spec = valid_spec();
  spec["post_processor"] = {{"type", "RobertaProcessing"}, {"cls", Json::array({"a", 4294967296})}};
  expect_error(spec, "post_processor: field 'cls[1]' is out of range (must be in [-2147483648, 2147483647]): 4294967296");
  spec = valid_spec();
  spec["model"]["vocab"]["c"] = 18446744073709551615ull;  // was read as -1
  expect_error(spec, "field 'vocab['c']' is out of range (must be in [-9223372036854775808, 9223372036854775807])");
}

TEST_F(LoadErrors, UnknownPreTokenizer) {
  Json spec = valid_spec();
  spec["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "BertPreTokenizer"}}}}};
  expect_error(spec, "pre_tokenizer.pretokenizers[0]: pre-tokenizer type 'BertPreTokenizer' is not supported");
}

TEST_F(LoadErrors, UnknownNormalizer) {
  Json spec = valid_spec();
  spec["normalizer"] = {{"type", "BertNormalizer"}};
  expect_error(spec, "normalizer: normalizer type 'BertNormalizer' is not supported");
}

TEST_F(LoadErrors, UnknownDecoder) {
  Json spec = valid_spec();
  spec["decoder"] = {{"type", "WordPiece"}};
  expect_error(spec, "decoder: decoder type 'WordPiece' is not supported");
}

TEST_F(LoadErrors, InvalidRegex) {
  Json spec = valid_spec();
  spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(\\p{L}+"}}}, {"behavior", "Isolated"}};
  expect_error(spec, "invalid regex '(\\p{L}+'");
  spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Glob", "*"}}}, {"behavior", "Isolated"}};
  expect_error(spec, "pattern must be");
  spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
  expect_error(spec, "unknown split behavior 'Sideways'");
}

TEST_F(LoadErrors, BadAddedToken) {
  Json spec = valid_spec();
  spec["added_tokens"] = {{{"id", 9}}};
  expect_error(spec, "added_tokens[0]: missing required field 'content'");
}

TEST_F(LoadErrors, BadMetaspaceScheme) {
  Json spec = valid_spec();
  spec["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "sometimes"}};
  expect_error(spec, "prepend_scheme 'sometimes' is not one of first, always, never");
}

TEST_F(LoadErrors, SideFilesNamingTokensOrIdsOutsideTheVocabulary) {
  dir_.write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  const std::string tc = load_error(valid_spec());
  EXPECT_EQ(tc, dir_.file("tokenizer_config.json") + ": bos_token '<s>' is not in the vocabulary");
  dir_.write("tokenizer_config.json", R"({"eos_token": "<|end|>"})");
  dir_.write("generation_config.json", R"({"eos_token_id": [4, 77]})");
  EXPECT_EQ(load_error(valid_spec()),
            dir_.file("generation_config.json") + ": eos_token_id 77 is outside the vocabulary (5 tokens)");
  dir_.write("generation_config.json", R"({"eos_token_id": )");
  EXPECT_NE(load_error(valid_spec()).find(dir_.file("generation_config.json") + ": malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace kvwb
