#include "ui/models/eviction_map.h"

#include <gtest/gtest.h>

#include "ui/controller/config_diff.h"
#include "ui/controller/rate_window.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {
namespace {

EvictionRecord record(int layer, int head, int64_t step, std::vector<int32_t> positions) {
  EvictionRecord r;
  r.layer = layer;
  r.head = head;
  r.step = step;
  r.positions = std::move(positions);
  return r;
}

TEST(LiveEvictionMap, MarksEachPositionWithTheStepThatEvictedIt) {
  LiveEvictionMap map;
  map.reset(10, 2, 3);
  EXPECT_EQ(map.rows(), 6);
  map.add(record(1, 2, 4, {3, 5}));
  map.add(record(0, 0, 7, {0}));
  map.add(record(1, 2, 9, {5, 6}));  // 5 again: its first eviction step stays
  EXPECT_EQ(map.evicted_at(1 * 3 + 2, 3), 4);
  EXPECT_EQ(map.evicted_at(1 * 3 + 2, 5), 4);
  EXPECT_EQ(map.evicted_at(1 * 3 + 2, 6), 9);
  EXPECT_EQ(map.evicted_at(0, 0), 7);
  EXPECT_EQ(map.evicted_at(0, 1), LiveEvictionMap::kKept);
  EXPECT_EQ(map.evicted_count(), 4);
  EXPECT_EQ(map.last_step(), 9);
}

TEST(LiveEvictionMap, GrowsWithDecodePositionsAndIgnoresUnknownHeads) {
  LiveEvictionMap map;
  map.reset(4, 1, 2);
  const uint64_t r = map.revision();
  map.add(record(0, 1, 2, {12}));  // a generated token's position
  EXPECT_EQ(map.positions(), 13);
  EXPECT_EQ(map.evicted_at(1, 12), 2);
  EXPECT_EQ(map.evicted_at(0, 12), LiveEvictionMap::kKept);
  EXPECT_NE(map.revision(), r);
  map.add(record(3, 0, 2, {1}));  // no layer 3
  map.add(record(0, -1, 2, {1}));
  EXPECT_EQ(map.evicted_count(), 1);
  EXPECT_EQ(map.evicted_at(7, 0), LiveEvictionMap::kKept);  // out of range reads are "kept"
}

TEST(RateWindow, AveragesTokensOverTheTrailingWindow) {
  RateWindow w(1.0);
  EXPECT_DOUBLE_EQ(w.rate(), 0.0);
  w.add(0.0, 0.5, 50);   // 100 tok/s
  EXPECT_DOUBLE_EQ(w.rate(), 100.0);
  w.add(0.5, 1.0, 150);  // 200 tokens in 1 s
  EXPECT_DOUBLE_EQ(w.rate(), 200.0);
  w.add(1.2, 2.2, 10);   // the first two steps ended more than 1 s before 2.2: dropped
  EXPECT_DOUBLE_EQ(w.rate(), 10.0);
  w.add(2.7, 3.2, 10);   // an idle gap counts: 20 tokens over [1.2, 3.2]
  EXPECT_DOUBLE_EQ(w.rate(), 10.0);
}

TEST(ConfigDiff, NamesEveryChangedKnobOldAndNew) {
  RunConfig a;
  a.policy.name = "h2o";
  a.policy.budget_tokens = 512;
  RunConfig b = a;
  EXPECT_EQ(describe_config_change(a, b), "");
  b.policy.name = "snapkv";
  b.policy.budget_tokens = 256;
  b.prefill_chunk = 64;
  EXPECT_EQ(describe_config_change(a, b), "budget_tokens 512 -> 256, policy h2o -> snapkv, prefill_chunk 128 -> 64");
  b = a;
  b.policy.budget_tokens.reset();
  b.policy.budget_ratio = 0.5;
  EXPECT_EQ(describe_config_change(a, b), "budget_ratio - -> 0.5, budget_tokens 512 -> -");
}

TEST(RetentionSummary, MeanAndMaxPerLayerAndHeadOverSequences) {
  StepStats s;
  s.step = 3;
  auto add = [&](const char* id, int layer, int head, int length) {
    HeadRetention h;
    h.request_id = id;
    h.layer = layer;
    h.head = head;
    h.length = length;
    s.retention.push_back(h);
  };
  add("a", 0, 0, 10);
  add("b", 0, 0, 20);
  add("a", 1, 1, 7);
  add("a", 5, 0, 99);  // outside a 2-layer model: ignored
  const auto r = summarize_retention(s, 2, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->step, 3);
  EXPECT_EQ(r->sequences, 2);
  EXPECT_DOUBLE_EQ(r->mean_retained[0], 15.0);
  EXPECT_EQ(r->max_retained[0], 20);
  EXPECT_DOUBLE_EQ(r->mean_retained[3], 7.0);
  EXPECT_DOUBLE_EQ(r->mean_retained[1], 0.0);
  EXPECT_FALSE(summarize_retention(StepStats{}, 2, 2).has_value());
}

}  // namespace
}  // namespace kvwb
