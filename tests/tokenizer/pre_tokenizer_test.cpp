// Pre-tokenizer steps. Split behaviours follow the "the-final--countdown" example of the
// tokenizers documentation; the regex cases are facts of the GPT-2 / Llama-3 patterns.
#include <gtest/gtest.h>

#include "engine/tokenizer/pre_tokenizer.h"

namespace kvwb {
namespace {

using Words = std::vector<std::string>;

Words split(SplitBehavior behavior, bool invert = false) {
  PreTokenizer p;
  p.add_split(Pattern::literal("-"), behavior, invert);
  return p.apply("the-final--countdown", true);
}

TEST(PreTokenizer, SplitBehavioursMatchTheTokenizersDocumentation) {
  EXPECT_EQ(split(SplitBehavior::Removed), (Words{"the", "final", "countdown"}));
  EXPECT_EQ(split(SplitBehavior::Isolated), (Words{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split(SplitBehavior::MergedWithPrevious), (Words{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split(SplitBehavior::MergedWithNext), (Words{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split(SplitBehavior::Contiguous), (Words{"the", "-", "final", "--", "countdown"}));
}

TEST(PreTokenizer, InvertedRemovedSplitKeepsTheMatches) {
  // tokenizers' Whitespace pre-tokenizer is this split.
  PreTokenizer p;
  p.add_split(Pattern::regex(R"(\w+|[^\w\s]+)", "test"), SplitBehavior::Removed, true);
  EXPECT_EQ(p.apply("Hey friend!  How are you?!?", true),
            (Words{"Hey", "friend", "!", "How", "are", "you", "?!?"}));
}

TEST(PreTokenizer, MetaspacePrependSchemes) {
  auto run = [](PrependScheme scheme, bool split, bool at_start, const char* text) {
    PreTokenizer p;
    p.add_metaspace("\xE2\x96\x81", scheme, split);
    return p.apply(text, at_start);
  };
  const std::string m = "\xE2\x96\x81";  // ▁
  EXPECT_EQ(run(PrependScheme::Always, true, false, "Hey friend"), (Words{m + "Hey", m + "friend"}));
  EXPECT_EQ(run(PrependScheme::First, true, true, "Hey friend"), (Words{m + "Hey", m + "friend"}));
  EXPECT_EQ(run(PrependScheme::First, true, false, "Hey friend"), (Words{"Hey", m + "friend"}));
  EXPECT_EQ(run(PrependScheme::Never, true, true, "Hey friend"), (Words{"Hey", m + "friend"}));
  EXPECT_EQ(run(PrependScheme::Always, false, true, "Hey friend"), (Words{m + "Hey" + m + "friend"}));
  EXPECT_EQ(run(PrependScheme::Always, true, true, "a  b"), (Words{m + "a", m, m + "b"}));
  EXPECT_EQ(run(PrependScheme::Always, true, true, " x"), (Words{m + "x"}));  // no second ▁
}

TEST(PreTokenizer, ByteLevelWithGpt2Regex) {
  PreTokenizer p;
  p.add_byte_level(true, true);
  const std::string g = "\xC4\xA0";  // Ġ
  EXPECT_EQ(p.apply("Hello world", true), (Words{g + "Hello", g + "world"}));
  EXPECT_EQ(p.apply("I'm 42", true), (Words{g + "I", "'m", g + "42"}));
  PreTokenizer q;
  q.add_byte_level(false, true);
  // "\s+(?!\S)" leaves the last space to join the word after it.
  EXPECT_EQ(q.apply("a  b", true), (Words{"a", g, g + "b"}));
  EXPECT_EQ(q.apply("\xC3\xA9t\xC3\xA9", true), (Words{"\xC3\x83\xC2\xA9t\xC3\x83\xC2\xA9"}));  // été
}

TEST(PreTokenizer, Llama3RegexGroupsDigitsByThreeAndCaseFoldsContractions) {
  PreTokenizer p;
  p.add_split(Pattern::regex(kLlama3SplitPattern, "test"), SplitBehavior::Isolated, false);
  EXPECT_EQ(p.apply("1234567", true), (Words{"123", "456", "7"}));
  EXPECT_EQ(p.apply("THEY'RE here", true), (Words{"THEY", "'RE", " here"}));
  EXPECT_EQ(p.apply("x\n\n y", true), (Words{"x", "\n\n", " y"}));
}

TEST(PreTokenizer, DigitsIndividualOrRuns) {
  PreTokenizer a, b;
  a.add_digits(true);
  b.add_digits(false);
  EXPECT_EQ(a.apply("a123b", true), (Words{"a", "1", "2", "3", "b"}));
  EXPECT_EQ(b.apply("a123b", true), (Words{"a", "123", "b"}));
}

TEST(PreTokenizer, StepsRunInOrderAndEmptyTextGivesNoWords) {
  PreTokenizer p;
  p.add_digits(true);
  p.add_byte_level(false, false);
  EXPECT_EQ(p.apply("a 12", true), (Words{"a\xC4\xA0", "1", "2"}));
  EXPECT_TRUE(p.apply("", true).empty());
  EXPECT_EQ(PreTokenizer().apply("as is", true), (Words{"as is"}));
}

}  // namespace
}  // namespace kvwb
