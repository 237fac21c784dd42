// Attention statistics on a case small enough to do by hand: one KV head shared by two query
// heads (GQA 2), three cached slots at positions 0, 1, 2 spread over two blocks, three prefill
// queries at positions 0, 1, 2. Keys k0 = (0, 0), k1 = (ln 3, 0), k2 = (0, ln 2); query head 0
// is (1, 0) and head 1 is (0, 1) for every token; scale 1. Values v0 = (1, 0), v1 = (0, 1),
// v2 = (1, 1). Probabilities:
//   token 0: both heads see slot 0 only                  -> (1)          and (1)
//   token 1: head 0 scores (0, ln3)      -> (1/4, 3/4);     head 1 (0, 0)      -> (1/2, 1/2)
//   token 2: head 0 scores (0, ln3, 0)   -> (1/5, 3/5, 1/5); head 1 (0, 0, ln2) -> (1/4, 1/4, 1/2)
// Tolerance: the f32 bounds of reference_attention (paged_scenario.h) for these inputs, plus
// what rounding ln 3 and ln 2 to f32 moves the exact values: a score by u·ln 3, so a
// probability by 2.2 u relative; 3 u of each value and of 1 covers it.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/backend.h"
#include "paged_scenario.h"

namespace kvwb::kernels {
namespace {

test::PagedScenario hand_case(std::vector<test::QueryToken> tokens) {
  test::PagedScenario s = test::build_scenario(1, 2, 2, 2, {{0, 1, 2}}, tokens, 1);
  s.scale = 1.0f;
  const float k[3][2] = {{0.0f, 0.0f}, {std::log(3.0f), 0.0f}, {0.0f, std::log(2.0f)}};
  const float v[3][2] = {{1.0f, 0.0f}, {0.0f, 1.0f}, {1.0f, 1.0f}};
  for (int32_t i = 0; i < 3; ++i) {
    const int32_t slot = s.slot(0, i);
    for (int d = 0; d < 2; ++d) {
      s.k[slot * 2 + d] = k[i][d];
      s.v[slot * 2 + d] = v[i][d];
    }
    s.att_sum[slot] = 1.0f;  // the kernel adds to what is there
    s.att_sq[slot] = 0.5f;
    s.n_obs[slot] = 3.0f;
  }
  for (size_t t = 0; t < tokens.size(); ++t) {
    s.q[t * 4 + 0] = 1.0f;  // head 0
    s.q[t * 4 + 1] = 0.0f;
    s.q[t * 4 + 2] = 0.0f;  // head 1
    s.q[t * 4 + 3] = 1.0f;
  }
  return s;
}

// Runs the kernel; returns the reference's bounds for the scenario as it was before the run.
test::ReferenceResult run(test::PagedScenario& s, std::vector<float>& out) {
  test::ReferenceResult ref = test::reference_attention(s);
  out.assign(s.q.size(), -1.0f);
  make_cpu_backend(1)->paged_attention(s.batch(), s.q.data(), s.view(), out.data());
  return ref;
}

// The bound for a hand-computed value whose f32 bound is `bound`.
double tolerance(double expected, double bound) { return bound + 3 * test::kF32Unit * (1 + std::fabs(expected)); }

TEST(CpuAttentionStats, ThreeTokenPrefillByHand) {
  test::PagedScenario s = hand_case({{0, 0, true}, {0, 1, true}, {0, 2, true}});
  std::vector<float> out;
  const test::ReferenceResult ref = run(s, out);
  const double expected_out[] = {1, 0, 1, 0,  0.25, 0.75, 0.5, 0.5,  0.4, 0.8, 0.75, 0.75};
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(out[i], expected_out[i], tolerance(expected_out[i], ref.out_bound[i])) << i;
  // Sums over tokens and heads: slot 0: 1+1 + 1/4+1/2 + 1/5+1/4 = 3.2; slot 1: 3/4+1/2 + 3/5+1/4 = 2.1;
  // slot 2: 1/5+1/2 = 0.7 (total 6 = 3 tokens x 2 heads). Squares: 2.415, 1.235, 0.29.
  // Observers: slot 0 seen by 3 tokens x 2 heads, slot 1 by 2 x 2, slot 2 by 1 x 2.
  const double sum[] = {3.2, 2.1, 0.7}, sq[] = {2.415, 1.235, 0.29}, obs[] = {6, 4, 2};
  for (int32_t i = 0; i < 3; ++i) {
    const int32_t slot = s.slot(0, i);
    EXPECT_NEAR(s.att_sum[slot], 1.0 + sum[i], tolerance(1.0 + sum[i], ref.att_sum_bound[slot])) << i;
    EXPECT_NEAR(s.att_sq[slot], 0.5 + sq[i], tolerance(0.5 + sq[i], ref.att_sq_bound[slot])) << i;
    EXPECT_EQ(s.n_obs[slot], 3.0f + static_cast<float>(obs[i])) << i;
  }
}

TEST(CpuAttentionStats, OnlyObservedQueriesCount) {
  test::PagedScenario s = hand_case({{0, 0, false}, {0, 1, false}, {0, 2, true}});
  std::vector<float> out;
  const test::ReferenceResult ref = run(s, out);
  const double sum[] = {0.45, 0.85, 0.7}, sq[] = {0.1025, 0.4225, 0.29};
  for (int32_t i = 0; i < 3; ++i) {
    const int32_t slot = s.slot(0, i);
    EXPECT_NEAR(s.att_sum[slot], 1.0 + sum[i], tolerance(1.0 + sum[i], ref.att_sum_bound[slot])) << i;
    EXPECT_NEAR(s.att_sq[slot], 0.5 + sq[i], tolerance(0.5 + sq[i], ref.att_sq_bound[slot])) << i;
    EXPECT_EQ(s.n_obs[slot], 5.0f) << i;
  }
}

TEST(CpuAttentionStats, NullObserveLeavesStatisticsUntouched) {
  test::PagedScenario s = hand_case({{0, 2, true}});
  std::vector<float> out;
  const test::ReferenceResult ref = test::reference_attention(s);
  AttentionBatch b = s.batch();
  b.observe = nullptr;
  out.assign(s.q.size(), -1.0f);
  make_cpu_backend(1)->paged_attention(b, s.q.data(), s.view(), out.data());
  EXPECT_NEAR(out[0], 0.4, tolerance(0.4, ref.out_bound[0]));
  for (int32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.att_sum[s.slot(0, i)], 1.0f);
    EXPECT_EQ(s.att_sq[s.slot(0, i)], 0.5f);
    EXPECT_EQ(s.n_obs[s.slot(0, i)], 3.0f);
  }
}

}  // namespace
}  // namespace kvwb::kernels
