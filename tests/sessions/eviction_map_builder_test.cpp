// Eviction maps built from the engine's eviction records: each evicted position gets the step
// and score of its (latest) eviction, kept positions read -1 / NaN, heads pad to the context.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/core/error.h"
#include "sessions/eviction_map_builder.h"

namespace kvwb {
namespace {

EvictionRecord record(int64_t step, int32_t layer, int32_t head, std::vector<int32_t> positions,
                      std::vector<float> scores) {
  EvictionRecord r;
  r.request_id = "req";
  r.step = step;
  r.layer = layer;
  r.head = head;
  r.positions = std::move(positions);
  r.scores = std::move(scores);
  return r;
}

TEST(EvictionMapBuilder, FoldsDecisionsPerHeadAndPosition) {
  EvictionMapBuilder b("req");
  b.add(record(3, 0, 1, {5, 2}, {0.1f, 0.2f}));
  b.add(record(7, 0, 1, {6}, {0.05f}));
  b.add(record(7, 1, 0, {0}, {0.3f}));
  const EvictionMap m = b.build(9, 10);
  EXPECT_EQ(m.request_id, "req");
  EXPECT_EQ(m.step, 9);
  EXPECT_EQ(m.context_length, 10);
  ASSERT_EQ(m.heads.size(), 2u);  // (0, 1) then (1, 0); heads that evicted nothing are absent
  const HeadEvictions& h = m.heads[0];
  EXPECT_EQ(h.layer, 0);
  EXPECT_EQ(h.head, 1);
  EXPECT_EQ(h.evicted_at_step, (std::vector<int32_t>{-1, -1, 3, -1, -1, 3, 7, -1, -1, -1}));
  EXPECT_EQ(h.scores[5], 0.1f);
  EXPECT_EQ(h.scores[2], 0.2f);
  EXPECT_EQ(h.scores[6], 0.05f);
  EXPECT_TRUE(std::isnan(h.scores[0]));
  EXPECT_EQ(m.heads[1].evicted_at_step[0], 7);
  EXPECT_EQ(m.heads[1].evicted_at_step.size(), 10u);
}

TEST(EvictionMapBuilder, ARecomputedRequestKeepsTheLatestDecisionAndContextCoversEvictions) {
  EvictionMapBuilder b("req");
  b.add(record(2, 0, 0, {4}, {0.5f}));
  b.add(record(12, 0, 0, {4}, {0.25f}));  // preempted, recomputed, evicted again
  const EvictionMap m = b.build(12, 0);    // unknown context: as far as evictions reach
  EXPECT_EQ(m.context_length, 5);
  EXPECT_EQ(m.heads[0].evicted_at_step[4], 12);
  EXPECT_EQ(m.heads[0].scores[4], 0.25f);
}

TEST(EvictionMapBuilder, RefusesMalformedRecords) {
  EvictionMapBuilder b("req");
  EXPECT_THROW(b.add(record(1, 0, 0, {1, 2}, {0.5f})), Error);
  EXPECT_THROW(b.add(record(1, 0, 0, {-1}, {0.5f})), Error);
  EvictionRecord other = record(1, 0, 0, {1}, {0.5f});
  other.request_id = "other";
  EXPECT_THROW(b.add(other), Error);
}

}  // namespace
}  // namespace kvwb
