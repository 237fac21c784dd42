// The BPE core on hand-made vocabularies, and against a naive reference BPE on a trained one.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/core/error.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/utf8.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

BpeModelSpec spec_of(const std::vector<std::string>& tokens, std::vector<std::pair<std::string, std::string>> merges) {
  BpeModelSpec spec;
  for (size_t i = 0; i < tokens.size(); ++i) spec.vocab.emplace_back(tokens[i], static_cast<int32_t>(i));
  spec.merges = std::move(merges);
  return spec;
}

std::vector<int32_t> encode(const BpeModel& m, std::string_view word) {
  std::vector<int32_t> ids;
  m.encode_word(word, ids);
  return ids;
}

TEST(BpeModel, MergesByRank) {
  //                       0    1    2    3     4     5
  const BpeModel m(spec_of({"a", "b", "c", "ab", "bc", "abc"}, {{"a", "b"}, {"ab", "c"}, {"b", "c"}}), "test");
  EXPECT_EQ(encode(m, "abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(encode(m, "bca"), (std::vector<int32_t>{4, 0}));
  // Rank decides, not position: with b+c ranked first, "abc" ends as a + bc.
  const BpeModel m2(spec_of({"a", "b", "c", "ab", "bc"}, {{"b", "c"}, {"a", "b"}}), "test");
  EXPECT_EQ(encode(m2, "abc"), (std::vector<int32_t>{0, 4}));
}

TEST(BpeModel, EqualRanksMergeLeftmostFirst) {
  const BpeModel m(spec_of({"a", "aa"}, {{"a", "a"}}), "test");
  EXPECT_EQ(encode(m, "aaa"), (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(encode(m, "aaaa"), (std::vector<int32_t>{1, 1}));
}

TEST(BpeModel, ByteFallbackSpellsUnknownCharactersAsBytes) {
  std::vector<std::string> tokens{"a"};
  for (int b = 0; b < 256; ++b) tokens.push_back(byte_token_name(static_cast<uint8_t>(b)));
  BpeModelSpec spec = spec_of(tokens, {});
  spec.byte_fallback = true;
  const BpeModel m(spec, "test");
  // é = C3 A9; "a" is in the vocabulary itself.
  EXPECT_EQ(encode(m, "a\xC3\xA9"), (std::vector<int32_t>{0, 1 + 0xC3, 1 + 0xA9}));
}

TEST(BpeModel, UnknownCharactersUseUnkFusedOrNotOrVanish) {
  BpeModelSpec spec = spec_of({"<unk>", "a"}, {});
  spec.unk_token = "<unk>";
  EXPECT_EQ(encode(BpeModel(spec, "t"), "xya"), (std::vector<int32_t>{0, 0, 1}));
  spec.fuse_unk = true;
  EXPECT_EQ(encode(BpeModel(spec, "t"), "xya"), (std::vector<int32_t>{0, 1}));
  spec.unk_token.clear();
  EXPECT_EQ(encode(BpeModel(spec, "t"), "xya"), (std::vector<int32_t>{1}));
}

TEST(BpeModel, IgnoreMergesTakesWholeWordsFromTheVocab) {
  BpeModelSpec spec = spec_of({"a", "b", "c", "abc"}, {});
  EXPECT_EQ(encode(BpeModel(spec, "t"), "abc"), (std::vector<int32_t>{0, 1, 2}));
  spec.ignore_merges = true;
  EXPECT_EQ(encode(BpeModel(spec, "t"), "abc"), (std::vector<int32_t>{3}));
}

TEST(BpeModel, CachedResultsAreTheSame) {
  const BpeModel m(spec_of({"a", "b", "ab"}, {{"a", "b"}}), "test");
  const auto first = encode(m, "abab");
  EXPECT_EQ(encode(m, "abab"), first);
  EXPECT_EQ(first, (std::vector<int32_t>{2, 2}));
}

TEST(BpeModel, RejectsMergesOfUnknownTokensAndDuplicateIds) {
  try {
    BpeModel(spec_of({"a", "b"}, {{"a", "z"}}), "some/tokenizer.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "some/tokenizer.json: model.merges[0]: token 'z' is not in the vocabulary");
  }
  EXPECT_THROW(BpeModel(spec_of({"a", "b"}, {{"a", "b"}}), "t"), Error);  // "ab" missing
  BpeModelSpec dup;
  dup.vocab = {{"a", 0}, {"b", 0}};
  EXPECT_THROW(BpeModel(dup, "t"), Error);
  BpeModelSpec unk = spec_of({"a"}, {});
  unk.unk_token = "<unk>";
  EXPECT_THROW(BpeModel(unk, "t"), Error);
}

// Textbook BPE: repeatedly merge the lowest-ranked adjacent pair, leftmost first. Quadratic,
// obviously right; the model's heap-based merging must agree with it.
std::vector<std::string> naive_bpe(const std::vector<std::string>& chars,
                                   const std::map<std::pair<std::string, std::string>, size_t>& ranks) {
  std::vector<std::string> s = chars;
  while (s.size() > 1) {
    size_t best = SIZE_MAX, at = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = ranks.find({s[i], s[i + 1]});
      if (it != ranks.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == SIZE_MAX) break;
    s[at] += s[at + 1];
    s.erase(s.begin() + static_cast<long>(at) + 1);
  }
  return s;
}

TEST(BpeModel, AgreesWithNaiveBpeOnATrainedVocabulary) {
  const Json j = read_json_file(test::tokenizer_fixture("bytelevel_gpt2"));
  BpeModelSpec spec;
  for (const auto& [token, id] : j.at("model").at("vocab").items()) spec.vocab.emplace_back(token, id.get<int32_t>());
  std::map<std::pair<std::string, std::string>, size_t> ranks;
  for (const Json& m : j.at("model").at("merges")) {
    const auto s = m.get<std::string>();
    const size_t space = s.find(' ');
    spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    ranks.emplace(spec.merges.back(), spec.merges.size() - 1);
  }
  const BpeModel model(spec, "bytelevel_gpt2");
  ASSERT_GT(model.merge_count(), 500u);

  // Random words over letters the merges use, so that long merge chains happen.
  const std::string letters = "etaoinshrdlucmfwypvbgk ";
  std::mt19937 rng(7);
  for (int n = 0; n < 2000; ++n) {
    std::string word;
    const int len = 1 + static_cast<int>(rng() % 14);
    for (int i = 0; i < len; ++i) word.push_back(letters[rng() % letters.size()]);
    const std::string mapped = byte_level::encode(word);
    std::vector<std::string> chars;
    for (size_t i = 0; i < mapped.size();) {
      const size_t k = utf8::next(mapped, i).size;
      chars.push_back(mapped.substr(i, k));
      i += k;
    }
    std::vector<int32_t> expected;
    for (const std::string& piece : naive_bpe(chars, ranks)) expected.push_back(model.token_id(piece));
    ASSERT_EQ(encode(model, mapped), expected) << "word: '" << word << "'";
  }
}

}  // namespace
}  // namespace kvwb
