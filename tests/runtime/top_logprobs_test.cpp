// top_logprobs against hand-computed log-softmax values.
#include "engine/runtime/top_logprobs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace kvwb {
namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();

TEST(TopLogprobs, HandComputedDistributionMostLikelyFirstTiesByLowerId) {
  // exp(logits) = 1, 2, 2, 3: probabilities 1/8, 2/8, 2/8, 3/8.
  const std::vector<float> logits = {0.0f, static_cast<float>(std::log(2.0)), static_cast<float>(std::log(2.0)),
                                     static_cast<float>(std::log(3.0))};
  const auto top = top_logprobs(logits.data(), 4, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 3);
  EXPECT_EQ(top[1].id, 1);  // ids 1 and 2 tie: the lower first, as the greedy sampler picks
  EXPECT_EQ(top[2].id, 2);
  // Rounding the logits to float moves each by <= eps/2 |x|, the log-sum-exp by at most the
  // largest of those, and the result is rounded to float once more: 4 eps (|log 3| + |log 8|) bounds it.
  const double tol = 4 * kEps * (std::log(3.0) + std::log(8.0));
  EXPECT_NEAR(top[0].logprob, std::log(3.0 / 8), tol);
  EXPECT_NEAR(top[1].logprob, std::log(2.0 / 8), tol);
  EXPECT_NEAR(top[2].logprob, std::log(2.0 / 8), tol);
}

TEST(TopLogprobs, LargeLogitsDoNotOverflowAndKIsCappedAtTheVocabulary) {
  const std::vector<float> logits = {1000.0f, 1000.0f};  // exp(1000) overflows a double
  const auto top = top_logprobs(logits.data(), 2, 5);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 0);
  EXPECT_EQ(top[1].id, 1);
  for (const TokenLogprob& t : top) EXPECT_NEAR(t.logprob, std::log(0.5), 4 * kEps * std::log(2.0));
}

TEST(TopLogprobs, NothingAskedNothingReturned) {
  const std::vector<float> logits = {1.0f, 2.0f};
  EXPECT_TRUE(top_logprobs(logits.data(), 2, 0).empty());
}

}  // namespace
}  // namespace kvwb
