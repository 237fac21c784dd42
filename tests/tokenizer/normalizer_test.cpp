// Normalizer steps on hand-computed cases (tokenizers' Prepend, Replace, Strip semantics).
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/normalizer.h"

namespace kvwb {
namespace {

const std::string kM = "\xE2\x96\x81";  // ▁

TEST(Normalizer, Llama2PrependThenReplace) {
  Normalizer n;
  n.add_prepend(kM);
  n.add_replace(Pattern::literal(" "), kM);
  EXPECT_EQ(n.apply("Hello world"), kM + "Hello" + kM + "world");
  EXPECT_EQ(n.apply(" x"), kM + kM + "x");
  EXPECT_EQ(n.apply(""), "");  // Prepend leaves empty text alone
  EXPECT_TRUE(n.prepends());
}

TEST(Normalizer, RegexReplaceAndStrip) {
  Normalizer n;
  n.add_replace(Pattern::regex(R"(\s+)", "test"), " ");
  n.add_strip(true, true);
  EXPECT_EQ(n.apply("\t a \n\n b \xE3\x80\x80"), "a b");  // U+3000 is whitespace too
  Normalizer left;
  left.add_strip(true, false);
  EXPECT_EQ(left.apply("  a  "), "a  ");
  EXPECT_FALSE(left.prepends());
}

TEST(Normalizer, EmptyNormalizerIsIdentityAndNfcIsAccepted) {
  Normalizer n;
  EXPECT_TRUE(n.empty());
  n.add_nfc();
  EXPECT_TRUE(n.has_nfc());
  EXPECT_EQ(n.apply("e\xCC\x81"), "e\xCC\x81");  // documented limit: NFC is not applied
}

TEST(Normalizer, InvalidRegexNamesWhere) {
  try {
    Pattern::regex("[a-", "file.json: normalizer");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("file.json: normalizer: invalid regex '[a-'", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace kvwb
