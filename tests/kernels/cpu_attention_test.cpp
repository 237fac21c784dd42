// CPU paged attention against the double reference of paged_scenario.h on random input:
// GQA ratios 1/2/4/8, block sizes 16/32/128, head_dim 64 and 36 (not a multiple of 8), ragged
// per-head lengths, sparse (evicted) positions, several sequences in one batch mixing prefill
// chunks and decode tokens, a sequence row with no queries, and poisoned unused slots.
// Tolerance: the f32 rounding-error bounds that reference_attention derives per output and per
// statistic (paged_scenario.h) from the magnitudes of the scores, probabilities and values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <stdexcept>

#include "kernel_test_util.h"
#include "kernels/backend.h"
#include "paged_scenario.h"

namespace kvwb::kernels {
namespace {

using test::expect_close;
using test::expect_within;
using test::PagedScenario;
using test::QueryToken;

// A sorted random subset of [lo, hi) with each position kept with probability `keep`.
std::vector<int32_t> sparse_positions(int32_t lo, int32_t hi, double keep, std::mt19937& rng) {
  std::bernoulli_distribution take(keep);
  std::vector<int32_t> out;
  for (int32_t p = lo; p < hi; ++p) {
    if (take(rng)) out.push_back(p);
  }
  return out;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<int32_t> range(int32_t lo, int32_t hi) {
  std::vector<int32_t> out;
  for (int32_t p = lo; p < hi; ++p) out.push_back(p);
  return out;
}

// Five sequences, two KV heads each, in one step:
//  0: a prefill chunk (positions 300..339, all observed) over a sparse history whose density
//     differs per head;  1: one decode token at 1000 over sparse, ragged history;
//  2: cached but with no query in this step (its slots must not change);
//  3: one unobserved decode token at 50 whose row also holds a later position (masked);
//  4: a first prefill chunk 0..19 observing only its last 8 queries.
PagedScenario mixed_batch(int32_t group, int32_t head_dim, int32_t block_size, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<int32_t> chunk0 = range(300, 340);
  std::vector<std::vector<int32_t>> rows = {
      concat(sparse_positions(0, 300, 0.9, rng), chunk0),
      concat(sparse_positions(0, 300, 0.35, rng), chunk0),
      concat(sparse_positions(0, 1000, 0.2, rng), {1000}),
      concat(sparse_positions(0, 1000, 0.05, rng), {1000}),
      range(0, 50),
      range(0, 7),
      {0, 10, 49, 50, 60},
      {3, 50},
      range(0, 20),
      range(0, 20),
  };
  std::vector<QueryToken> tokens{{1, 1000, true}};
  for (int32_t p : chunk0) tokens.push_back({0, p, true});
  for (int32_t p = 0; p < 20; ++p) tokens.push_back({4, p, p >= 12});
  tokens.push_back({3, 50, false});
  return test::build_scenario(2, group, head_dim, block_size, rows, tokens, seed);
}

void expect_matches_reference(PagedScenario& s, int threads) {
  const test::ReferenceResult ref = test::reference_attention(s);
  auto backend = make_cpu_backend(threads);
  std::vector<float> out(ref.out.size(), -7.0f);
  backend->paged_attention(s.batch(), s.q.data(), s.view(), out.data());
  expect_within(out, ref.out, ref.out_bound, "out");
  // Statistics: compare used slots; unused ones must still hold their NaN poison.
  std::vector<double> sum, sq, obs, sum_ref, sq_ref, obs_ref, sum_bound, sq_bound;
  for (size_t i = 0; i < s.used.size(); ++i) {
    if (!s.used[i]) {
      ASSERT_TRUE(std::isnan(s.att_sum[i]) && std::isnan(s.att_sq[i]) && std::isnan(s.n_obs[i])) << "slot " << i;
      continue;
    }
    sum.push_back(s.att_sum[i]);
    sq.push_back(s.att_sq[i]);
    obs.push_back(s.n_obs[i]);
    sum_ref.push_back(ref.att_sum[i]);
    sq_ref.push_back(ref.att_sq[i]);
    obs_ref.push_back(ref.n_obs[i]);
    sum_bound.push_back(ref.att_sum_bound[i]);
    sq_bound.push_back(ref.att_sq_bound[i]);
  }
  expect_within(sum, sum_ref, sum_bound, "att_sum");
  expect_within(sq, sq_ref, sq_bound, "att_sq");
  expect_close(obs, obs_ref, 0.0, 0.0, "n_obs");
}

// group, block size, head_dim, threads
class CpuPagedAttention : public ::testing::TestWithParam<std::tuple<int32_t, int32_t, int32_t, int>> {};

TEST_P(CpuPagedAttention, MixedBatchMatchesReference) {
  const auto [group, block_size, head_dim, threads] = GetParam();
  PagedScenario s = mixed_batch(group, head_dim, block_size, 1234 + static_cast<uint32_t>(group * block_size));
  expect_matches_reference(s, threads);
}

std::string shape_name(const ::testing::TestParamInfo<std::tuple<int32_t, int32_t, int32_t, int>>& info) {
  const auto [group, block_size, head_dim, threads] = info.param;
  return "g" + std::to_string(group) + "_bs" + std::to_string(block_size) + "_d" + std::to_string(head_dim) + "_t" +
         std::to_string(threads);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuPagedAttention,
                         ::testing::Combine(::testing::Values(1, 2, 4, 8), ::testing::Values(16, 32, 128),
                                            ::testing::Values(64, 36), ::testing::Values(1, 2)),
                         shape_name);

// A long chunk over a long, sparse history: several query tiles and several work items per row
// (so statistics go through the private buffers), many K blocks; one query in three unobserved.
PagedScenario long_chunk(uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<int32_t> chunk = range(3000, 3150);
  std::vector<std::vector<int32_t>> rows = {concat(sparse_positions(0, 3000, 0.7, rng), chunk),
                                            concat(sparse_positions(0, 3000, 0.55, rng), chunk)};
  std::vector<QueryToken> tokens;
  for (int32_t p : chunk) tokens.push_back({0, p, p % 3 != 0});
  return test::build_scenario(2, 4, 64, 128, rows, tokens, seed);
}

TEST(CpuPagedAttentionLong, ChunkOf150OverThreeThousandSlots) {
  PagedScenario s = long_chunk(7);
  expect_matches_reference(s, 2);
}

TEST(CpuPagedAttentionLong, ResultsDoNotDependOnThreadCount) {
  PagedScenario a = long_chunk(5);
  PagedScenario b = a;
  std::vector<float> out1(a.q.size()), out2(a.q.size());
  make_cpu_backend(1)->paged_attention(a.batch(), a.q.data(), a.view(), out1.data());
  make_cpu_backend(2)->paged_attention(b.batch(), b.q.data(), b.view(), out2.data());
  EXPECT_EQ(out1, out2);
  for (size_t i = 0; i < a.used.size(); ++i) {
    if (!a.used[i]) continue;  // NaN poison compares unequal to itself
    EXPECT_EQ(a.att_sum[i], b.att_sum[i]);
    EXPECT_EQ(a.att_sq[i], b.att_sq[i]);
    EXPECT_EQ(a.n_obs[i], b.n_obs[i]);
  }
}

TEST(CpuPagedAttentionErrors, InconsistentTablesAreRejectedBeforeAnyRead) {
  PagedScenario s = mixed_batch(2, 64, 16, 3);
  std::vector<float> out(s.q.size());
  auto backend = make_cpu_backend(1);
  s.lengths[3] = (s.indptr[4] - s.indptr[3]) * s.block_size + 1;  // more slots than its blocks hold
  EXPECT_THROW(backend->paged_attention(s.batch(), s.q.data(), s.view(), out.data()), std::runtime_error);
  s = mixed_batch(2, 64, 16, 3);
  AttentionBatch bad = s.batch();
  bad.num_heads = 3;  // not a multiple of 2 KV heads
  EXPECT_THROW(backend->paged_attention(bad, s.q.data(), s.view(), out.data()), std::runtime_error);
}

}  // namespace
}  // namespace kvwb::kernels
