// The CPU backend's eviction ops (score_slots, select_slots: the reference the CUDA kernels
// are compared with) on hand-computed cases: gathering through a block table, protection,
// pooling, ties, and KV-Compress's groups ranked across rows.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/backend.h"
#include "kernels/eviction.h"

namespace kvwb::kernels {
namespace {

constexpr float inf = kKeepScore;


// Runs the CPU backend's select_slots and returns each row's kept indices.
std::vector<std::vector<int32_t>> select(const std::vector<std::vector<float>>& rows, const int32_t* keep,
                                         int32_t group_size = 16, int64_t evict_tokens = 0) {
  std::vector<int32_t> offsets{0};
  std::vector<float> scores;
  for (const auto& r : rows) {
    scores.insert(scores.end(), r.begin(), r.end());
    offsets.push_back(static_cast<int32_t>(scores.size()));
  }
  SlotSelection sel;
  sel.num_rows = static_cast<int32_t>(rows.size());
  sel.offsets = offsets.data();
  sel.keep = keep;
  sel.group_size = group_size;
  sel.evict_tokens = evict_tokens;
  std::vector<int32_t> retained(scores.size(), -1), kept(rows.size(), -1);
  make_cpu_backend(1)->select_slots(scores.data(), sel, retained.data(), kept.data());
  std::vector<std::vector<int32_t>> out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out.emplace_back(retained.begin() + offsets[r], retained.begin() + offsets[r] + kept[r]);
  }
  return out;
}

TEST(CpuEviction, SelectKeepsHighestPerRowOlderTiesGoFirst) {
  const std::vector<std::vector<float>> rows{{0.5f, 0.1f, inf, 0.1f, 0.3f}, {0.2f, 0.2f, 0.2f}, {inf, inf}, {}};
  const std::vector<int32_t> keep{2, 1, 0, 0};
  // Row 0 keeps 0.5 and the protected slot; row 1's equal scores leave oldest first; row 2 is
  // all protected and keeps more than its budget; row 3 is empty.
  EXPECT_EQ(select(rows, keep.data()), (std::vector<std::vector<int32_t>>{{0, 2}, {2}, {0, 1}, {}}));
}

TEST(CpuEviction, SelectGroupsAcrossRows) {
  // Group size 2. Costs: row 0 {0.2, 0.4}, row 1 {0.2} (its inf sits in the incomplete tail),
  // row 2 {0.1}. Ranked: row 2 (0.1), row 0 (0.2, the lower row wins the tie), row 1 (0.2).
  const std::vector<std::vector<float>> rows{{0.4f, 0.1f, 0.3f, 0.2f}, {0.2f, 0.05f, inf}, {0.1f, 0.1f, 0.1f}};
  // 5 tokens -> 3 groups: every row evicts 2 slots (row 1 keeps only its protected slot).
  EXPECT_EQ(select(rows, nullptr, 2, 5), (std::vector<std::vector<int32_t>>{{0, 2}, {2}, {2}}));
  // 4 tokens -> 2 groups: the tie at 0.2 goes to row 0, row 1 keeps everything.
  EXPECT_EQ(select(rows, nullptr, 2, 4), (std::vector<std::vector<int32_t>>{{0, 2}, {0, 1, 2}, {2}}));
  EXPECT_EQ(select(rows, nullptr, 2, 0), (std::vector<std::vector<int32_t>>{{0, 1, 2, 3}, {0, 1, 2}, {0, 1, 2}}));
}

TEST(CpuEviction, ScoreSlotsGathersThroughTheBlockTable) {
  // Block size 2, one row whose blocks are [1, 0] with 3 slots: index 0 -> slot 2, 1 -> slot 3,
  // 2 -> slot 0. Slot 1 is unused (its numbers must not appear).
  std::vector<int32_t> pos{2, 99, 0, 1};
  std::vector<float> sum{0.6f, 9.0f, 0.2f, 0.9f}, sq{0.0f, 9.0f, 0.0f, 0.0f}, nobs{2.0f, 9.0f, 0.0f, 3.0f};
  std::vector<float> k(4), v(4);
  const std::vector<int32_t> indptr{0, 2}, indices{1, 0}, lengths{3}, offsets{0, 3};
  const PagedKv kv{1, 1, 2, k.data(), v.data(), pos.data(), sum.data(), sq.data(), nobs.data(),
                   indptr.data(), indices.data(), lengths.data()};
  auto backend = make_cpu_backend(1);
  std::vector<float> scores(3);

  SlotScoring average;  // index 0 was never observed; recent 1 of 3 protects position 2 (index 2)
  average.kind = ScoreKind::Average;
  average.recent = 1;
  average.context_length = 3;
  backend->score_slots(kv, 1, offsets.data(), average, scores.data());
  EXPECT_EQ(scores[0], inf);
  EXPECT_FLOAT_EQ(scores[1], 0.9f / 3.0f);
  EXPECT_EQ(scores[2], inf);

  SlotScoring pooled;  // sums {0.2, 0.9, 0.6}, max over 3 neighbours; sink 1 protects position 0
  pooled.kind = ScoreKind::Sum;
  pooled.pool = PoolKind::Max;
  pooled.pool_kernel = 3;
  pooled.sinks = 1;
  pooled.context_length = 3;
  backend->score_slots(kv, 1, offsets.data(), pooled, scores.data());
  EXPECT_EQ(scores, (std::vector<float>{inf, 0.9f, 0.9f}));
}

TEST(CpuEviction, ScoreSlotsRejectsOffsetsThatDisagreeWithLengths) {
  std::vector<int32_t> pos(2);
  std::vector<float> f(2);
  const std::vector<int32_t> indptr{0, 1}, indices{0}, lengths{2}, offsets{0, 1};
  const PagedKv kv{1, 1, 2, f.data(), f.data(), pos.data(), f.data(), f.data(), f.data(),
                   indptr.data(), indices.data(), lengths.data()};
  std::vector<float> scores(2);
  EXPECT_THROW(make_cpu_backend(1)->score_slots(kv, 1, offsets.data(), SlotScoring{}, scores.data()),
               std::runtime_error);
}

}  // namespace
}  // namespace kvwb::kernels
