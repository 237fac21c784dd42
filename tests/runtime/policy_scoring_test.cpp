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

#include "engine/runtime/policy.h"
#include "kernels/backend.h"

namespace kvwb {
namespace {

constexpr float kSum[8] = {9.0f, 0.3f, 2.5f, 0.2f, 2.2f, 1.5f, 0.5f, 0.1f};
constexpr float kObs[8] = {8, 7, 6, 5, 4, 3, 2, 1};
constexpr float kSq[8] = {5.0f, 0.05f, 0.10f, 0.19f, 0.15f, 0.12f, 0.2f, 0.01f};

struct Kept {
  std::vector<int32_t> head0, head1;
};

Kept evict_with(PolicyConfig config) {
  auto backend = kernels::make_cpu_backend(1);
  const KvCacheShape shape{1, 2, 4, 2, 16};
  KvCache cache(*backend, shape);
  SequenceState seq;
  seq.id = "s";
  seq.cache_seq = cache.add_sequence();
  seq.prompt.assign(8, 1);
  seq.max_new_tokens = 1;
  seq.phase = SequencePhase::Prefill;
  seq.prefilled = 8;
  EXPECT_TRUE(cache.append(seq.cache_seq, 8));
  std::vector<float> kv(8 * 2 * 4, 0.5f);
  std::vector<int32_t> dst(16), pos(8);
  for (int t = 0; t < 8; ++t) {
    pos[static_cast<size_t>(t)] = t;
    for (int h = 0; h < 2; ++h) dst[static_cast<size_t>(t * 2 + h)] = cache.slot(seq.cache_seq, 0, h, t);
  }
  backend->kv_write(cache.pool_view(), kv.data(), kv.data(), 8, dst.data(), pos.data());
  const kernels::PagedKv view = cache.pool_view();
  for (int t = 0; t < 8; ++t) {
    for (int h = 0; h < 2; ++h) {
      const int32_t slot = cache.slot(seq.cache_seq, 0, h, t);
      const float scale = h == 0 ? 1.0f : 10.0f;
      view.att_sum[slot] = scale * kSum[t];
      view.att_sq[slot] = scale * kSq[t];
      view.n_obs[slot] = kObs[t];
    }
  }
  config.budget_tokens = 4;
  config.sinks = 1;
  config.protected_recent = 2;
  config.window = 2;  // SnapKV's family protects max(window, protected_recent)
  auto policy = make_policy(config);
  AppendContext ctx;
  ctx.appended = 8;
  ctx.prefill_done = true;
  ctx.in_prefill = true;
  policy->after_append(seq, cache, ctx);
  return {cache.positions(seq.cache_seq, 0, 0), cache.positions(seq.cache_seq, 0, 1)};
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

}  // namespace
}  // namespace kvwb
