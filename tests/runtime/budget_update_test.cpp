// What the engine reports about compression, and budget changes between steps, on the
// llama-tied fixture (2 layers x 2 KV heads):
//  - a smaller budget evicts every running sequence down to it at the very next step, even
//    when the decode interval would not have evicted yet; a larger one lets sequences grow;
//  - StepStats::retained (per sequence and (layer, KV head), every step) agrees with the
//    cache's own block tables (the retention snapshot);
//  - a traced sequence's eviction records and its retained positions partition its context,
//    and every evicted score is at most the lowest kept one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::fixture_dir;

constexpr int64_t kSinks = 2, kRecent = 4;

EngineOptions base_options(const std::string& policy, int64_t budget, int64_t decode_interval) {
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.num_blocks = 2000;  // no preemption: every sequence stays admitted
  o.max_batch = 8;
  o.stop_at_eos = false;
  o.policy.name = policy;
  o.policy.budget_tokens = budget;
  o.policy.sinks = kSinks;
  o.policy.protected_recent = kRecent;
  o.policy.window = kRecent;  // SnapKV's family protects max(window, protected_recent)
  o.policy.decode_interval = decode_interval;
  return o;
}

void submit(Engine& engine, int n, int prompt_len, int64_t max_new, int64_t vocab) {
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> p;
    for (int t = 0; t < prompt_len; ++t) p.push_back(static_cast<int32_t>(1 + (i * 37 + t * 11) % (vocab - 1)));
    engine.submit(fmt::format("r{}", i), p, max_new);
  }
}

// Steps until all `n` sequences decode, then `extra` more steps; returns the last stats.
StepStats step_into_decode(Engine& engine, int64_t n, int extra) {
  StepStats s;
  for (int i = 0; i < 1000 && s.decode_tokens < n; ++i) s = engine.step();
  EXPECT_EQ(s.decode_tokens, n) << "the sequences never all reached decode";
  for (int i = 0; i < extra; ++i) s = engine.step();
  return s;
}

int32_t longest(const StepStats& s) {
  int32_t m = 0;
  for (const SequenceLengths& r : s.retained) m = std::max(m, *std::max_element(r.lengths.begin(), r.lengths.end()));
  return m;
}

TEST(BudgetUpdate, ASmallerBudgetEvictsAtTheNextStepWhateverTheDecodeInterval) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  const int64_t layers = model->config.num_layers, kv_heads = model->config.num_kv_heads;
  constexpr int64_t kNewBudget = 16;
  // Tokens each (layer, head) keeps under the new budget, by hand: the budget, or for PyramidKV
  // its per-layer budgets (mean 16, beta 20, 2 layers: 31.2 and 0.8 -> 31 and 1), never fewer
  // than the sinks + recent window. Policies that share the budget unevenly (KV-Compress,
  // Ada-KV) keep at most the total.
  const std::map<std::string, std::vector<int64_t>> per_layer_keep{
      {"decode-only", {16, 16}}, {"batch-max", {16, 16}}, {"streaming-llm", {16, 16}},
      {"h2o", {16, 16}},         {"snapkv", {16, 16}},    {"pyramidkv", {31, kSinks + kRecent}}};
  for (const std::string name : {"decode-only", "batch-max", "kv-compress", "streaming-llm", "h2o", "snapkv",
                                 "pyramidkv", "ada-kv"}) {
    SCOPED_TRACE(name);
    // The decode interval is longer than the run: without the update nothing would be evicted
    // during decode.
    EngineOptions o = base_options(name, 48, 1000);
    Engine engine(*model, *backend, o);
    submit(engine, 3, 60, 30, model->config.vocab_size);
    const StepStats before = step_into_decode(engine, 3, 2);
    ASSERT_GT(longest(before), 48) << "decode grew the sequences past the old budget";

    o.policy.budget_tokens = kNewBudget;
    engine.update(o);
    const StepStats s = engine.step();
    EXPECT_GT(s.evicted_slots, 0);
    ASSERT_EQ(s.retained.size(), 3u);
    for (const SequenceLengths& r : s.retained) {
      ASSERT_EQ(static_cast<int64_t>(r.lengths.size()), layers * kv_heads);
      const auto it = per_layer_keep.find(name);
      if (it != per_layer_keep.end()) {
        for (int64_t l = 0; l < layers; ++l) {
          for (int64_t h = 0; h < kv_heads; ++h) {
            // Evicted down to the budget, then this step's decode token was appended.
            EXPECT_EQ(r.lengths[static_cast<size_t>(l * kv_heads + h)], it->second[static_cast<size_t>(l)] + 1)
                << r.request_id << " layer " << l << " head " << h;
          }
        }
      } else {
        int64_t total = 0;
        for (int32_t n : r.lengths) total += n;
        EXPECT_LE(total, (kNewBudget + 1) * layers * kv_heads) << r.request_id;
      }
    }
    // The next step evicts nothing more: the decode interval rules again.
    const StepStats next = engine.step();
    EXPECT_EQ(next.evicted_slots, 0);
  }
}

// policy.span is live: switched on between steps it applies at the next eviction (a budget
// change makes one now), each (layer, head) keeping at most the budget (spans round down); an
// unknown kind is refused with the run left as it was.
TEST(BudgetUpdate, ASpanChangeAppliesAtTheNextEvictionAndABadOneIsRefused) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o = base_options("h2o", 48, 1000);
  Engine engine(*model, *backend, o);
  submit(engine, 2, 60, 20, model->config.vocab_size);
  step_into_decode(engine, 2, 1);
  EngineOptions bad = o;
  bad.policy.span = "sentence";
  EXPECT_THROW(engine.update(bad), Error);
  EXPECT_EQ(engine.options().policy.span, "none");
  o.policy.span = "word";
  o.policy.budget_tokens = 24;
  engine.update(o);
  const StepStats s = engine.step();
  EXPECT_GT(s.evicted_slots, 0);
  for (const SequenceLengths& r : s.retained) {
    // The budget, plus this step's decode token (appended after the eviction).
    for (int32_t len : r.lengths) EXPECT_LE(len, 24 + 1) << r.request_id;
  }
  while (!engine.done()) engine.step();
}

TEST(BudgetUpdate, ALargerBudgetLetsSequencesGrowUpToIt) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  // Decode evicts after every token: under budget 16 every head stays at 16.
  EngineOptions o = base_options("batch-max", 16, 1);
  Engine engine(*model, *backend, o);
  submit(engine, 2, 60, 60, model->config.vocab_size);
  const StepStats before = step_into_decode(engine, 2, 3);
  for (const SequenceLengths& r : before.retained) {
    for (int32_t n : r.lengths) ASSERT_EQ(n, 16) << r.request_id;
  }
  o.policy.budget_tokens = 40;
  engine.update(o);
  for (int k = 1; k <= 30; ++k) {
    const StepStats s = engine.step();
    ASSERT_EQ(s.retained.size(), 2u);
    const int32_t expected = std::min(16 + k, 40);  // one decode token per step, then the new cap
    for (const SequenceLengths& r : s.retained) {
      for (int32_t n : r.lengths) ASSERT_EQ(n, expected) << r.request_id << " step " << k;
    }
    EXPECT_EQ(s.evicted_slots > 0, 16 + k > 40) << "step " << k;
  }
}

TEST(BudgetUpdate, RetainedLengthsOfEveryStepMatchTheCachesTables) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o = base_options("kv-compress", 12, 3);
  o.max_batch = 3;  // requests queue, finish and leave at different steps
  Engine engine(*model, *backend, o);
  submit(engine, 5, 40, 10, model->config.vocab_size);
  int64_t steps = 0, uneven = 0;
  while (!engine.done() && steps < 1000) {
    engine.request_retention_snapshot();
    const StepStats s = engine.step();
    ++steps;
    std::map<std::string, std::vector<int32_t>> from_snapshot;
    for (const HeadRetention& h : s.retention) from_snapshot[h.request_id].push_back(static_cast<int32_t>(h.positions.size()));
    std::map<std::string, std::vector<int32_t>> reported;
    for (const SequenceLengths& r : s.retained) reported[r.request_id] = r.lengths;
    EXPECT_EQ(reported, from_snapshot) << "step " << s.step;
    EXPECT_EQ(static_cast<int64_t>(s.retained.size()), s.running + s.finished) << "step " << s.step;
    for (const SequenceLengths& r : s.retained) {
      if (std::set<int32_t>(r.lengths.begin(), r.lengths.end()).size() > 1) ++uneven;
    }
  }
  EXPECT_TRUE(engine.done());
  EXPECT_GT(uneven, 0) << "KV-Compress should give some heads different lengths";
}

TEST(BudgetUpdate, ATracedSequencesEvictionsAndRetainedPositionsPartitionItsContext) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  for (const std::string name : {"batch-max", "kv-compress", "h2o", "snapkv"}) {
    SCOPED_TRACE(name);
    EngineOptions o = base_options(name, 16, 3);
    o.trace_ids = {"r1"};
    Engine engine(*model, *backend, o);
    submit(engine, 3, 50, 20, model->config.vocab_size);
    const int64_t heads = model->config.num_layers * model->config.num_kv_heads;
    std::vector<std::set<int32_t>> evicted(static_cast<size_t>(heads));
    std::vector<std::vector<int32_t>> last_retained(static_cast<size_t>(heads));
    int64_t records = 0;
    while (!engine.done()) {
      engine.request_retention_snapshot();
      const StepStats s = engine.step();
      int64_t traced_slots = 0;
      for (const EvictionRecord& e : s.evictions) {
        ASSERT_EQ(e.request_id, "r1") << "only the traced request reports its decisions";
        EXPECT_EQ(e.step, s.step);
        ASSERT_EQ(e.positions.size(), e.scores.size());
        ASSERT_FALSE(e.positions.empty());
        for (size_t i = 0; i < e.positions.size(); ++i) {
          EXPECT_LE(e.scores[i], e.threshold) << "an evicted slot scored above a kept one";
          EXPECT_TRUE(evicted[static_cast<size_t>(e.layer * model->config.num_kv_heads + e.head)].insert(e.positions[i]).second)
              << "position " << e.positions[i] << " evicted twice";
        }
        traced_slots += static_cast<int64_t>(e.positions.size());
        ++records;
      }
      EXPECT_LE(traced_slots, s.evicted_slots);
      for (const HeadRetention& h : s.retention) {
        if (h.request_id == "r1") last_retained[static_cast<size_t>(h.layer * model->config.num_kv_heads + h.head)] = h.positions;
      }
    }
    EXPECT_GT(records, 0);
    for (int64_t r = 0; r < heads; ++r) {
      const std::vector<int32_t>& kept = last_retained[static_cast<size_t>(r)];
      ASSERT_FALSE(kept.empty());
      // Kept and evicted are disjoint and together every position up to the newest cached one.
      std::set<int32_t> all(evicted[static_cast<size_t>(r)]);
      for (int32_t p : kept) EXPECT_TRUE(all.insert(p).second) << "position " << p << " both kept and evicted";
      EXPECT_EQ(static_cast<int32_t>(all.size()), kept.back() + 1) << "head row " << r;
      EXPECT_EQ(*all.rbegin(), kept.back());
    }
  }
}

}  // namespace
}  // namespace kvwb
