// Every compression policy on the real engine and fixture model: budgets at least the context
// reproduce full KV, the KV pool is never exceeded, protected slots stay, retained positions
// stay sorted and unique, KV-Compress varies per head, and compression turns into batch size.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "engine/config/policy_names.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/policies/scored_policy.h"
#include "tests/runtime/fixtures.h"
#include "tests/runtime/retention_checks.h"

namespace kvwb {
namespace {

using testing_support::fixture_dir;
using testing_support::retention_problem;

// Every registered policy but full: a policy added to the registry is tested here at once.
const std::vector<std::string> kEvictingPolicies = [] {
  std::vector<std::string> out;
  for (std::string_view name : policy_names()) {
    if (name != "full") out.emplace_back(name);
  }
  return out;
}();

std::vector<std::vector<int32_t>> prompts(int n, int len, int64_t vocab, int salt = 0) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> p;
    for (int t = 0; t < len + (i * 7) % 11; ++t) p.push_back(static_cast<int32_t>(1 + (i * 53 + t * 29 + salt) % (vocab - 1)));
    out.push_back(p);
  }
  return out;
}

struct RunResult {
  std::map<std::string, std::vector<int32_t>> outputs;
  int64_t max_running = 0;
  int64_t max_peak_blocks = 0;
};

RunResult run(const Model& model, kernels::Backend& backend, EngineOptions o, const std::vector<std::vector<int32_t>>& ps,
              int64_t max_new, const std::function<void(const StepStats&)>& check = {}) {
  o.stop_at_eos = false;
  Engine engine(model, backend, o);
  RunResult r;
  for (size_t i = 0; i < ps.size(); ++i) engine.submit("r" + std::to_string(i), ps[i], max_new);
  for (int step = 0; !engine.done(); ++step) {
    if (step > 20000) {
      ADD_FAILURE() << "no progress";
      break;
    }
    engine.request_retention_snapshot();
    const StepStats s = engine.step();
    r.max_running = std::max(r.max_running, s.running + s.finished);
    r.max_peak_blocks = std::max(r.max_peak_blocks, s.peak_blocks_used);
    EXPECT_LE(s.peak_blocks_used, o.num_blocks) << "step " << s.step;
    if (check) check(s);
    for (auto& f : engine.take_finished()) r.outputs[f.id] = f.output;
  }
  return r;
}

TEST(Policies, BudgetAtLeastTheContextReproducesFullKv) {
  const auto model = load_model(fixture_dir("llama-gqa4"));
  auto backend = kernels::make_cpu_backend(2);
  const auto ps = prompts(4, 30, model->config.vocab_size);
  EngineOptions o;
  o.num_blocks = 4096;
  o.block_size = 8;
  o.prefill_chunk = 8;
  const RunResult full = run(*model, *backend, o, ps, 16);
  for (const std::string& name : kEvictingPolicies) {
    EngineOptions p = o;
    p.policy.name = name;
    p.policy.budget_tokens = 1000;
    const RunResult r = run(*model, *backend, p, ps, 16);
    EXPECT_EQ(r.outputs, full.outputs) << name;  // nothing evicted: the same computation
  }
}

TEST(Policies, PoolNeverExceededProtectedKeptPositionsSortedUnique) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  const auto ps = prompts(6, 60, model->config.vocab_size, 3);
  for (const std::string& name : kEvictingPolicies) {
    EngineOptions o;
    o.block_size = 4;
    o.prefill_chunk = 16;
    o.num_blocks = 400;
    o.policy.name = name;
    o.policy.budget_tokens = 24;
    o.policy.sinks = 2;
    o.policy.protected_recent = 6;
    o.policy.window = 6;  // SnapKV protects max(window, protected_recent)
    o.policy.decode_interval = 3;
    for (size_t i = 0; i < ps.size(); ++i) o.trace_ids.push_back("r" + std::to_string(i));
    int64_t evicted = 0;
    const RunResult r = run(*model, *backend, o, ps, 12, [&](const StepStats& s) {
      evicted += s.evicted_slots;
      for (const EvictionRecord& e : s.evictions) {
        for (int32_t p : e.positions) EXPECT_GE(p, o.policy.sinks) << name << ": a sink was evicted";
      }
      for (const HeadRetention& h : s.retention) EXPECT_EQ(retention_problem(h, 2, 6), "") << name;
    });
    EXPECT_EQ(r.outputs.size(), ps.size()) << name;
    EXPECT_GT(evicted, 0) << name << " must evict under a budget of 24 tokens";
  }
}

TEST(Policies, BatchMaxPeakStaysWithinBudgetPlusOneChunk) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.num_blocks = 1000;
  o.policy.name = "batch-max";
  o.policy.budget_tokens = 32;
  o.policy.sinks = 2;
  o.policy.protected_recent = 8;
  o.policy.decode_interval = 4;
  const auto ps = prompts(1, 200, model->config.vocab_size);
  const RunResult r = run(*model, *backend, o, ps, 8);
  const KvCacheShape shape{model->config.num_layers, model->config.num_kv_heads, model->config.head_dim, 4, 1000};
  const int64_t bound = blocks_for_tokens(32 + 16, shape);  // budget + one chunk per head
  EXPECT_LE(r.max_peak_blocks, bound);
  EXPECT_GT(r.max_peak_blocks, blocks_for_tokens(32, shape)) << "the chunk really was appended before eviction";
  EXPECT_LT(bound, blocks_for_tokens(200, shape)) << "the test is meaningful: the prompt alone needs more";
}

TEST(Policies, KvCompressGivesHeadsDifferentLengthsAndFreesWholeBlocks) {
  // A constructed cache: 1 layer, 2 heads, 8 slots each; head 0's slots received much more
  // attention than head 1's. Budget 4 per head = 8 in all: 8 slots must go, in whole groups of
  // 2 (the block size), the cheapest first -> mostly from head 1.
  auto backend = kernels::make_cpu_backend(1);
  KvCacheShape shape{1, 2, 4, 2, 16};
  KvCache cache(*backend, shape);
  SequenceState seq;
  seq.id = "s";
  seq.cache_seq = cache.add_sequence();
  seq.prompt.assign(8, 1);
  seq.max_new_tokens = 1;
  seq.phase = SequencePhase::Prefill;
  seq.prefilled = 8;
  ASSERT_TRUE(cache.append(seq.cache_seq, 8));
  std::vector<float> kv(8 * 2 * 4, 0.5f);
  std::vector<int32_t> dst(16), pos(8);
  for (int t = 0; t < 8; ++t) {
    pos[static_cast<size_t>(t)] = t;
    for (int h = 0; h < 2; ++h) dst[static_cast<size_t>(t * 2 + h)] = cache.slot(seq.cache_seq, 0, h, t);
  }
  backend->kv_write(cache.pool_view(), kv.data(), kv.data(), 8, dst.data(), pos.data());
  const kernels::PagedKv view = cache.pool_view();
  for (int t = 0; t < 8; ++t) {
    const int32_t s0 = cache.slot(seq.cache_seq, 0, 0, t), s1 = cache.slot(seq.cache_seq, 0, 1, t);
    view.att_sq[s0] = 1.0f + 0.01f * static_cast<float>(t);  // head 0: strong
    view.att_sq[s1] = 0.01f * static_cast<float>(t + 1);     // head 1: weak
    view.n_obs[s0] = view.n_obs[s1] = 4;
  }
  PolicyConfig c;
  c.name = "kv-compress";
  c.budget_tokens = 4;
  c.sinks = 0;
  c.protected_recent = 2;  // positions 6, 7 stay in both heads
  c.pool_kernel = 1;
  auto policy = make_policy(c);
  AppendContext ctx;
  ctx.appended = 8;
  ctx.prefill_done = true;
  ctx.in_prefill = true;
  std::vector<EvictionRecord> trace;
  ctx.trace = &trace;
  const int64_t used_before = cache.used_blocks();
  const EvictionStats st = policy->after_append(seq, cache, ctx);
  // Head 1 can give 6 slots (3 groups); the 4th group comes from head 0 (its cheapest: 0, 1).
  EXPECT_EQ(cache.length(seq.cache_seq, 0, 1), 2);
  EXPECT_EQ(cache.length(seq.cache_seq, 0, 0), 6);
  EXPECT_EQ(cache.positions(seq.cache_seq, 0, 0), (std::vector<int32_t>{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(cache.positions(seq.cache_seq, 0, 1), (std::vector<int32_t>{6, 7}));
  EXPECT_EQ(st.evicted_slots, 8);
  EXPECT_EQ(st.freed_blocks, 4);
  EXPECT_EQ(cache.used_blocks(), used_before - 4);
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[1].head, 1);
  EXPECT_EQ(trace[1].positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_FLOAT_EQ(trace[1].scores[0], 0.01f);
}

TEST(Policies, BatchMaxAdmitsMoreThanDecodeOnlyWhichAdmitsAtLeastFull) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  // Long prompts, short answers (the Batch-Max setting), one fixed KV pool.
  const auto ps = prompts(8, 170, model->config.vocab_size, 5);
  const KvCacheShape shape{model->config.num_layers, model->config.num_kv_heads, model->config.head_dim, 4, 1};
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.max_batch = 64;
  o.num_blocks = 2 * blocks_for_tokens(180 + 4, shape) + 8;  // about two full-KV requests
  auto with = [&](const std::string& name) {
    EngineOptions p = o;
    p.policy.name = name;
    if (name != "full") p.policy.budget_tokens = 32;
    p.policy.protected_recent = 8;
    p.policy.decode_interval = 4;
    return run(*model, *backend, p, ps, 4).max_running;
  };
  const int64_t full = with("full"), decode_only = with("decode-only"), batch_max = with("batch-max");
  EXPECT_GT(batch_max, decode_only);
  EXPECT_GE(decode_only, full);
  RecordProperty("max_running_full", std::to_string(full));
  RecordProperty("max_running_decode_only", std::to_string(decode_only));
  RecordProperty("max_running_batch_max", std::to_string(batch_max));
}

TEST(Policies, EveryRegisteredPolicyBuilds) {
  for (std::string_view name : policy_names()) {
    PolicyConfig c;
    c.name = name;
    c.budget_tokens = 64;
    EXPECT_EQ(make_policy(c)->name(), name);
  }
  EXPECT_EQ(kEvictingPolicies.size() + 1, policy_names().size());
}

TEST(Policies, EvictingPoliciesNeedABudget) {
  PolicyConfig c;
  c.name = "snapkv";
  EXPECT_THROW(make_policy(c), Error);
  c.budget_ratio = 0.5;
  EXPECT_NO_THROW(make_policy(c));
}

}  // namespace
}  // namespace kvwb
