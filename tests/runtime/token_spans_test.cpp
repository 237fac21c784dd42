// Spans from token pieces (policy.span), on a hand-made vocabulary whose answer is read off the
// text: a word span joins pieces with no space or punctuation between them, a line span runs
// to a piece holding a newline, and a special token is a span of its own.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/runtime/policies/token_spans.h"

namespace kvwb {
namespace {

// id:                              0       1      2        3      4     5    6    7    8     9     10     11      12
const std::vector<std::string> kPieces{"<|s|>", "The", " code", " is", " 6", "5", "6", "1", ",", " ok", ".\n", "Next", " line"};
const std::vector<uint8_t> kSpecial{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
const std::vector<int32_t> kText{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

TEST(TokenSpans, WordSpansJoinPiecesWithNothingBetweenThem) {
  const SpanRules rules(kPieces, kSpecial, SpanKind::Word);
  // "<|s|>" | "The" | " code" | " is" | " 6561" | "," | " ok" | ".\n" | "Next" | " line"
  EXPECT_EQ(rules.starts(kText), (std::vector<int32_t>{0, 1, 2, 3, 4, 4, 4, 4, 8, 9, 10, 11, 12}));
}

TEST(TokenSpans, LineSpansRunToANewline) {
  const SpanRules rules(kPieces, kSpecial, SpanKind::Line);
  // "<|s|>" | "The code is 6561, ok.\n" | "Next line"
  EXPECT_EQ(rules.starts(kText), (std::vector<int32_t>{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 11, 11}));
}

TEST(TokenSpans, NoneAndUnknownIdsMakeEveryTokenItsOwnSpan) {
  const std::vector<int32_t> digits{5, 6, 7};
  EXPECT_EQ(SpanRules().starts(digits), (std::vector<int32_t>{0, 1, 2}));
  const SpanRules word(kPieces, kSpecial, SpanKind::Word);
  EXPECT_EQ(word.starts(std::vector<int32_t>{5, 99, 6}), (std::vector<int32_t>{0, 1, 2}));
}

TEST(TokenSpans, ExtendKeepsWhatIsThereAndContinuesTheLastSpan) {
  const SpanRules rules(kPieces, kSpecial, SpanKind::Word);
  std::vector<int32_t> starts = rules.starts(std::vector<int32_t>{3, 4, 5});  // " is", " 6", "5"
  const std::vector<int32_t> more{3, 4, 5, 6, 8};                              // + "6", ","
  rules.extend(5, [&](int64_t i) { return more[static_cast<size_t>(i)]; }, starts);
  EXPECT_EQ(starts, (std::vector<int32_t>{0, 1, 1, 1, 4}));
}

TEST(TokenSpans, AnUnknownKindNamesTheKey) {
  EXPECT_EQ(span_kind("word"), SpanKind::Word);
  try {
    span_kind("sentence");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "policy.span: unknown span 'sentence' (none, word, line)");
  }
}

}  // namespace
}  // namespace kvwb
