// Each named policy's scoring rule, end to end through the policy, on one constructed cache
// whose attention statistics are known: 1 layer, 2 KV heads, block size 2, positions 0..7.
// Head 1's statistics are head 0's times 10. Budget 4 per head; position 0 is a sink and 6, 7
// the protected recent window, so each uniform policy keeps exactly one of positions 1..5 in
// each head, and which one tells its scoring rule apart:
//
//   position        1     2     3     4     5      (0: sum 9, n 8; 6: 0.5, n 2; 7: 0.1, n 1)
//   att_sum        0.3   2.5   0.2   2.2   1.5
//   n_obs           7     6     5     4     3
//   att_sum/n_obs .043  .417  .040  .550  .500    -> mean attention (Batch-Max) keeps 4
//   att_sq         .05   .10   .19   .15   .12     -> L2-sum (KV-Compress) keeps 3
//   att_sq/n_obs  .0071 .0167 .038  .0375 .040    -> L2-avg keeps 5
//   sum, avg-pooled over 5 neighbours (SnapKV), edges clipped:
//                  3.0  2.84  1.34  1.38  0.90    -> keeps 1   (raw sum, H2O: keeps 2)
//   recency (StreamingLLM) keeps 5.
// Ada-KV shares 8 slots between the two heads: 3 protected each, the 2 left go to the best
// pooled scores of either head, both in head 1 (30 and 28.4): head 0 keeps 3, head 1 keeps 5.
#include <gtest/gtest.h>

#include <map>

#include "tests/runtime/constructed_cache.h"

namespace kvwb {
namespace {

constexpr float kSum[8] = {9.0f, 0.3f, 2.5f, 0.2f, 2.2f, 1.5f, 0.5f, 0.1f};
constexpr float kObs[8] = {8, 7, 6, 5, 4, 3, 2, 1};
constexpr float kSq[8] = {5.0f, 0.05f, 0.10f, 0.19f, 0.15f, 0.12f, 0.2f, 0.01f};

struct Kept {
  std::vector<int32_t> head0, head1;
};

using testing_support::ConstructedCache;
using testing_support::SlotStats;

// Statistics indexed by position; head 1's are head 0's times 10.
void set_stats(ConstructedCache& c, const float* sum, const float* sq, const float* obs) {
  c.set_stats([&](int head, int32_t p) {
    const float scale = head == 0 ? 1.0f : 10.0f;
    const auto i = static_cast<size_t>(p);
    return SlotStats{scale * sum[i], scale * sq[i], obs[i]};
  });
}

Kept kept_after(ConstructedCache& c, const PolicyConfig& config) {
  c.evict(config);
  return {c.positions(0), c.positions(1)};
}

// The header's case: budget 4, position 0 a sink, 6 and 7 the recent window.
PolicyConfig header_case(PolicyConfig config, int64_t budget = 4) {
  config.budget_tokens = budget;
  config.sinks = 1;
  config.protected_recent = 2;
  config.window = 2;  // SnapKV's family protects max(window, protected_recent)
  return config;
}

Kept evict_with(const PolicyConfig& config) {
  ConstructedCache c;
  set_stats(c, kSum, kSq, kObs);
  return kept_after(c, header_case(config));
}

PolicyConfig named(const std::string& name, const std::string& metric = "l2-sum") {
  PolicyConfig c;
  c.name = name;
  c.metric = metric;
  return c;
}

TEST(PolicyScoring, EachRuleKeepsTheSlotTheHandComputedScoresChoose) {
  const std::map<std::string, int32_t> kept_of_1_to_5{
      {"batch-max", 4}, {"decode-only", 4}, {"h2o", 2}, {"snapkv", 1}, {"pyramidkv", 1}, {"streaming-llm", 5}};
  for (const auto& [name, kept] : kept_of_1_to_5) {
    const Kept k = evict_with(named(name));
    const std::vector<int32_t> expected{0, kept, 6, 7};
    EXPECT_EQ(k.head0, expected) << name;
    EXPECT_EQ(k.head1, expected) << name;
  }
}

TEST(PolicyScoring, KvCompressMetricsByHand) {
  // Whole groups of 2 ranked across both heads: head 0's groups are cheaper, but each head can
  // give only two groups before its protected slots, so both keep 4.
  const std::map<std::string, int32_t> kept_of_1_to_5{{"l2-sum", 3}, {"l2-avg", 5}, {"l1-sum", 2}, {"l1-avg", 4}};
  for (const auto& [metric, kept] : kept_of_1_to_5) {
    const Kept k = evict_with(named("kv-compress", metric));
    const std::vector<int32_t> expected{0, kept, 6, 7};
    EXPECT_EQ(k.head0, expected) << metric;
    EXPECT_EQ(k.head1, expected) << metric;
  }
}

TEST(PolicyScoring, AdaKvGivesTheSharedBudgetToTheStrongerHead) {
  const Kept k = evict_with(named("ada-kv"));
  EXPECT_EQ(k.head0, (std::vector<int32_t>{0, 6, 7}));
  EXPECT_EQ(k.head1, (std::vector<int32_t>{0, 1, 2, 6, 7}));
}

// policy.span, on H2O's raw sums (positions 1..5: .3 2.5 .2 2.2 1.5) with the spans {0} {1 2}
// {3 4 5} {6 7}: every slot takes its span's best score (1, 2 -> 2.5; 3, 4, 5 -> 2.2), equal
// scores go lower position first, and a span the budget cuts is dropped whole.
TEST(PolicyScoring, SpansAreRankedByTheirBestSlotAndKeptOrDroppedWhole) {
  const std::vector<int32_t> spans{0, 1, 1, 3, 3, 3, 6, 6};
  PolicyConfig h2o = named("h2o");
  h2o.span = "word";
  // budget -> kept: 5 keeps two of 1..5 (without spans: 2 and 4), which is the span {1 2};
  // 4 keeps one (2), which cuts {1 2}: dropped, the budget rounds down; 6 keeps three (1, 2, 5),
  // which cuts {3 4 5}: 5 goes too.
  const std::map<int64_t, std::vector<int32_t>> kept_at{{5, {0, 1, 2, 6, 7}}, {4, {0, 6, 7}}, {6, {0, 1, 2, 6, 7}}};
  for (const auto& [budget, expected] : kept_at) {
    ConstructedCache c;
    c.seq().span_start = spans;
    set_stats(c, kSum, kSq, kObs);
    const Kept k = kept_after(c, header_case(h2o, budget));
    EXPECT_EQ(k.head0, expected) << "budget " << budget;
    EXPECT_EQ(k.head1, expected) << "budget " << budget;
  }
  PolicyConfig plain = named("h2o");
  ConstructedCache c;
  set_stats(c, kSum, kSq, kObs);
  EXPECT_EQ(kept_after(c, header_case(plain, 5)).head0, (std::vector<int32_t>{0, 2, 4, 6, 7})) << "the span-blind choice";
}

// Spans are found through each slot's position, which compaction moves with the slot: a second
// eviction after the first compacted the rows still sees the spans {0 1} {2} {3 4} {5 6} {7}.
// (Read by slot index instead, the second round would keep positions 2 and 3.)
TEST(PolicyScoring, SpansStayWithTheirSlotsAfterCompaction) {
  PolicyConfig h2o = named("h2o");
  h2o.span = "word";
  h2o.sinks = 0;
  h2o.protected_recent = 0;
  ConstructedCache c;
  c.seq().span_start = {0, 0, 2, 3, 3, 5, 5, 7};
  // Round 1, budget 5: span scores .1, 5, 4, 3, .2 -> {0 1} and {7} go.
  const float sum1[8] = {0.1f, 0.1f, 5, 4, 4, 3, 3, 0.2f};
  set_stats(c, sum1, kSq, kObs);
  h2o.budget_tokens = 5;
  EXPECT_EQ(kept_after(c, h2o).head0, (std::vector<int32_t>{2, 3, 4, 5, 6}));
  // Round 2, budget 3, on the compacted rows: span scores 7 ({2}), 5 ({3 4}), 6 ({5 6}) -> {3 4} goes.
  const float sum2[8] = {0, 0, 7, 5, 0.5f, 0.4f, 6, 0};
  set_stats(c, sum2, kSq, kObs);
  h2o.budget_tokens = 3;
  const Kept k = kept_after(c, h2o);
  EXPECT_EQ(k.head0, (std::vector<int32_t>{2, 5, 6}));
  EXPECT_EQ(k.head1, (std::vector<int32_t>{2, 5, 6}));
}

}  // namespace
}  // namespace kvwb
