// The eviction arithmetic on hand-computed cases: the kernels' reference (kernels/eviction.h)
// through vector-shaped adapters, and the policies' cross-head arithmetic (selection.h).
#include "engine/runtime/policies/selection.h"

#include <gtest/gtest.h>

namespace kvwb {
namespace {

using kernels::block_groups_to_evict;

std::vector<float> slot_scores(const HeadSlots& s, ScoreKind kind) {
  std::vector<float> out(s.size());
  kernels::raw_slot_scores(s.positions.data(), s.att_sum.data(), s.att_sq.data(), s.n_obs.data(),
                           static_cast<int64_t>(s.size()), kind, out.data());
  return out;
}

void pool_scores(std::vector<float>& scores, int64_t kernel, PoolKind kind) {
  kernels::pool_slot_scores(scores.data(), static_cast<int64_t>(scores.size()), kernel, kind);
}

std::vector<uint8_t> protected_slots(const HeadSlots& s, int64_t sinks, int64_t recent, int64_t context_length) {
  std::vector<uint8_t> prot(s.size(), 0);
  kernels::protect_slots(s.positions.data(), static_cast<int64_t>(s.size()), sinks, recent, context_length, prot.data());
  return prot;
}

std::vector<int64_t> lowest_to_evict(const std::vector<float>& scores, const std::vector<uint8_t>& prot, int64_t keep) {
  return kernels::lowest_to_evict(scores.data(), prot.data(), static_cast<int64_t>(scores.size()), keep);
}

HeadSlots slots(std::vector<int32_t> pos, std::vector<float> sum, std::vector<float> sq, std::vector<float> n) {
  HeadSlots s;
  s.positions = std::move(pos);
  s.att_sum = std::move(sum);
  s.att_sq = std::move(sq);
  s.n_obs = std::move(n);
  return s;
}

TEST(Selection, ScoreKinds) {
  const HeadSlots s = slots({0, 3, 7}, {1.0f, 0.5f, 0.0f}, {0.5f, 0.25f, 0.0f}, {2, 1, 0});
  EXPECT_EQ(slot_scores(s, ScoreKind::Average), (std::vector<float>{0.5f, 0.5f, kKeep}));  // never observed: kept
  EXPECT_EQ(slot_scores(s, ScoreKind::Sum), (std::vector<float>{1.0f, 0.5f, 0.0f}));
  EXPECT_EQ(slot_scores(s, ScoreKind::L2Sum), (std::vector<float>{0.5f, 0.25f, 0.0f}));
  EXPECT_EQ(slot_scores(s, ScoreKind::L2Avg), (std::vector<float>{0.25f, 0.25f, kKeep}));
  EXPECT_EQ(slot_scores(s, ScoreKind::L1Avg), (std::vector<float>{0.5f, 0.5f, kKeep}));
  EXPECT_EQ(slot_scores(s, ScoreKind::Recency), (std::vector<float>{0.0f, 3.0f, 7.0f}));
}

TEST(Selection, PoolingOverNeighbours) {
  std::vector<float> m{1, 5, 2, 0};
  pool_scores(m, 3, PoolKind::Max);
  EXPECT_EQ(m, (std::vector<float>{5, 5, 5, 2}));
  std::vector<float> a{1, 5, 2, 0};
  pool_scores(a, 3, PoolKind::Avg);
  EXPECT_FLOAT_EQ(a[0], 3.0f);          // (1 + 5) / 2 at the edge
  EXPECT_FLOAT_EQ(a[1], 8.0f / 3.0f);   // (1 + 5 + 2) / 3
  EXPECT_FLOAT_EQ(a[2], 7.0f / 3.0f);
  EXPECT_FLOAT_EQ(a[3], 1.0f);
  std::vector<float> k{1, kKeep, 3};
  pool_scores(k, 3, PoolKind::Max);
  EXPECT_EQ(k, (std::vector<float>{1, kKeep, 3}));  // a kept slot stays kept and is no neighbour
}

TEST(Selection, ProtectedSinksAndRecentWindow) {
  const HeadSlots s = slots({0, 1, 2, 5, 9}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {1, 1, 1, 1, 1});
  // sinks 2 -> positions 0, 1; recent 3 of a 10-token context -> positions 7, 8, 9.
  EXPECT_EQ(protected_slots(s, 2, 3, 10), (std::vector<uint8_t>{1, 1, 0, 0, 1}));
}

TEST(Selection, LowestScoresGoFirstAndProtectedStay) {
  const std::vector<float> scores{0.3f, 0.1f, 0.2f, 0.1f, 0.05f};
  const std::vector<uint8_t> prot{1, 0, 0, 0, 1};
  // keep 3 of 5: the two lowest unprotected are 0.1 (slot 1) and 0.1 (slot 3, the younger tie).
  EXPECT_EQ(lowest_to_evict(scores, prot, 3), (std::vector<int64_t>{1, 3}));
  // keep 0: every unprotected slot goes, protected ones stay.
  EXPECT_EQ(lowest_to_evict(scores, prot, 0), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(lowest_to_evict(scores, prot, 5).empty());
}

TEST(Selection, AdaKvFlattenedTopKWithFloor) {
  // Head 0 has the two best slots overall; the floor of 1 still gives head 1 its best.
  const std::vector<std::vector<float>> scores{{0.9f, 0.8f, 0.1f}, {0.5f, 0.4f, 0.3f}};
  const std::vector<std::vector<uint8_t>> prot{{0, 0, 0}, {0, 0, 0}};
  EXPECT_EQ(allocate_keep_across_heads(scores, prot, 4, 1), (std::vector<int64_t>{2, 2}));
  // Without a floor, a total of 2 goes entirely to head 0.
  EXPECT_EQ(allocate_keep_across_heads(scores, prot, 2, 0), (std::vector<int64_t>{2, 0}));
  // Protected slots count as kept first.
  const std::vector<std::vector<uint8_t>> prot2{{0, 0, 0}, {0, 0, 1}};
  EXPECT_EQ(allocate_keep_across_heads(scores, prot2, 2, 0), (std::vector<int64_t>{1, 1}));
}

TEST(Selection, KvCompressEvictsCheapestWholeBlockGroupsAcrossHeads) {
  // Block size 2. Head 0 groups cost 0.2 and 1.0; head 1: 0.35, then a group with a kept slot.
  const std::vector<std::vector<float>> scores{{0.1f, 0.2f, 0.9f, 1.0f}, {0.3f, 0.35f, kKeep, kKeep}};
  EXPECT_EQ(block_groups_to_evict(scores, 2, 3), (std::vector<int64_t>{2, 2}));   // 0.2 then 0.35
  EXPECT_EQ(block_groups_to_evict(scores, 2, 2), (std::vector<int64_t>{2, 0}));   // one group is enough
  EXPECT_EQ(block_groups_to_evict(scores, 2, 100), (std::vector<int64_t>{4, 2})); // kept groups never go
  EXPECT_EQ(block_groups_to_evict(scores, 2, 0), (std::vector<int64_t>{0, 0}));
  // An incomplete trailing group (3 scores, block 2) is never evicted.
  EXPECT_EQ(block_groups_to_evict({{0.1f, 0.2f, 0.3f}}, 2, 3), (std::vector<int64_t>{2}));
}

TEST(Selection, PyramidBudgetsDecreaseLinearly) {
  // budget 100, 5 layers, beta 20: min 5, max 195, step 47.5.
  EXPECT_EQ(pyramid_budgets(100, 5, 20.0), (std::vector<int64_t>{195, 148, 100, 53, 5}));
  EXPECT_EQ(pyramid_budgets(64, 1, 20.0), (std::vector<int64_t>{64}));
}

}  // namespace
}  // namespace kvwb
