// Metrics against hand-computed cases.
#include "engine/workload/metrics.h"

#include <gtest/gtest.h>

#include "engine/core/error.h"

namespace kvwb {
namespace {

TEST(Metrics, NormalizationFollowsSquad) {
  EXPECT_EQ(normalize_answer("  The Quick, brown fox!  "), "quick brown fox");
  EXPECT_EQ(normalize_answer("An apple a day"), "apple day");
  EXPECT_EQ(normalize_answer(""), "");
}

TEST(Metrics, ExactMatch) {
  EXPECT_EQ(exact_match("The answer is 42.", "the answer is 42"), 1.0);
  EXPECT_EQ(exact_match("42", "43"), 0.0);
}

TEST(Metrics, TokenF1HandComputed) {
  // prediction {cat, sat, on, mat}, reference {cat, sat, on, hat}: 3 common -> P = R = 3/4.
  EXPECT_DOUBLE_EQ(token_f1("the cat sat on the mat", "a cat sat on a hat"), 0.75);
  // prediction {x, y}, reference {x, y, z, w}: P = 1, R = 1/2 -> F1 = 2/3.
  EXPECT_DOUBLE_EQ(token_f1("x y", "x y z w"), 2.0 / 3.0);
  // Repeated tokens count once per occurrence in the reference: {a1 a1 a1} vs {a1}: P = 1/3, R = 1.
  EXPECT_DOUBLE_EQ(token_f1("zz zz zz", "zz"), 0.5);
  EXPECT_EQ(token_f1("", ""), 1.0);
  EXPECT_EQ(token_f1("x", ""), 0.0);
}

TEST(Metrics, RougeLHandComputed) {
  // p = [police, killed, the, gunman], r = [police, kill, the, gunman]: LCS 3, P = R = 3/4.
  EXPECT_NEAR(rouge_l("police killed the gunman", "police kill the gunman"), 0.75, 1e-12);
  // Punctuation separates tokens and case is ignored: [x, y] vs [x, y].
  EXPECT_NEAR(rouge_l("X,y", "x y"), 1.0, 1e-12);
  // Order matters: p = [c b a], r = [a b c]: LCS 1, P = R = 1/3.
  EXPECT_NEAR(rouge_l("c b a", "a b c"), 1.0 / 3.0, 1e-12);
  // p = [a b c d e], r = [a c e]: LCS 3, P = 3/5, R = 1 -> F = 2*0.6/1.6 = 0.75.
  EXPECT_NEAR(rouge_l("a b c d e", "a c e"), 0.75, 1e-12);
  EXPECT_EQ(rouge_l("x", "y"), 0.0);
}

TEST(Metrics, RulerStringMatch) {
  const std::vector<std::string> refs{"7421", "Banana"};
  EXPECT_DOUBLE_EQ(contains_all("values: 7421 and banana", refs), 1.0);
  EXPECT_DOUBLE_EQ(contains_all("only 7421", refs), 0.5);
  EXPECT_DOUBLE_EQ(contains_any("only 7421", refs), 1.0);
  EXPECT_DOUBLE_EQ(contains_any("nothing", refs), 0.0);
}

TEST(Metrics, ScoreTakesTheBestReference) {
  EXPECT_EQ(score_answer("em", "paris", {"London", "Paris"}), 1.0);
  EXPECT_DOUBLE_EQ(score_answer("f1", "x y", {"x y z w", "q"}), 2.0 / 3.0);
  EXPECT_THROW(score_answer("bleu", "x", {"x"}), Error);
}

}  // namespace
}  // namespace kvwb
