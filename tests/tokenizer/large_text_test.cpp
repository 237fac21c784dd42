// A 100 KB text encodes with every fixture tokenizer and decodes back (no timing asserted:
// the BPE cache and heap merging keep this well under a second on CI).
#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

std::string large_text() {
  const std::vector<std::string> lines = {
      "The cache keeps %d tokens of sequence %d; eviction ran at step %d.\n",
      "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 %d \xE2\x80\x94 d\xC3\xA9j\xC3\xA0 vu %d\t%d\n",
      "\xE6\x9D\xB1\xE4\xBA\xAC %d \xE4\xB8\xAD\xE6\x96\x87 %d \xED\x95\x9C\xEA\xB5\xAD %d\n",
      "emoji \xF0\x9F\x98\x80 %d   spaces   %d \xF0\x9F\x8E\x89 %d\n\n",
      "    def f(x): return x * %d + %d - %d\n",
  };
  std::string text;
  for (int i = 0; text.size() < 100 * 1024; ++i) {
    const std::string& line = lines[i % lines.size()];
    char buf[256];
    std::snprintf(buf, sizeof buf, line.c_str(), i, i * 7 % 1000, i * 13 % 97);
    text += buf;
  }
  return text;
}

class LargeText : public ::testing::TestWithParam<std::string> {};

TEST_P(LargeText, EncodesAndRoundTrips) {
  const auto tok = load_tokenizer_json(test::tokenizer_fixture(GetParam()));
  const std::string text = large_text();
  ASSERT_GE(text.size(), 100u * 1024);
  const std::vector<int32_t> ids = tok->encode(text, false);
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_LE(ids.size(), text.size());
  const std::string back = tok->decode(ids);
  if (GetParam() == "bytelevel_gpt2") {
    EXPECT_EQ(back, " " + text);  // GPT-2 style add_prefix_space
  } else {
    EXPECT_EQ(back, text);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LargeText,
                         ::testing::Values("bytelevel_llama3", "bytelevel_gpt2", "bytelevel_smollm2",
                                           "metaspace_llama2", "metaspace_first", "byte"));

}  // namespace
}  // namespace kvwb
