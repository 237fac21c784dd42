// Every compression policy on the real engine and fixture model: budgets at least the context
// reproduce full KV, the KV pool is never exceeded, protected slots stay, retained positions
// stay sorted and unique, KV-Compress varies per head, compression turns into batch size, and a
// knob a policy does not read (policy_reads) changes none of its evictions.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

#include "engine/config/policy_names.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/policies/policy_reads.h"
#include "engine/runtime/policies/scored_policy.h"
#include "engine/runtime/policies/token_spans.h"
#include "tests/runtime/constructed_cache.h"
#include "tests/runtime/eviction_options.h"
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

// policy.span: each policy runs with every span kind (spans only ever evict more, never past
// protection or the pool).
constexpr const char* kSpans[] = {"none", "word", "line"};

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

// small_block_options with every request's evictions traced.
EngineOptions traced_options(const std::string& policy, int64_t budget_tokens, size_t requests) {
  EngineOptions o = testing_support::small_block_options(policy, budget_tokens);
  for (size_t i = 0; i < requests; ++i) o.trace_ids.push_back("r" + std::to_string(i));
  return o;
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
    for (const char* span : kSpans) {
      EngineOptions p = o;
      p.policy.name = name;
      p.policy.budget_tokens = 1000;
      p.policy.span = span;
      const RunResult r = run(*model, *backend, p, ps, 16);
      EXPECT_EQ(r.outputs, full.outputs) << name << " span " << span;  // nothing evicted: the same computation
    }
  }
}

TEST(Policies, PoolNeverExceededProtectedKeptPositionsSortedUnique) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  const auto ps = prompts(6, 60, model->config.vocab_size, 3);
  for (const std::string& name : kEvictingPolicies) {
    for (const char* span : kSpans) {
      EngineOptions o = traced_options(name, 24, ps.size());
      o.policy.span = span;
      o.policy.sinks = 2;
      o.policy.protected_recent = 6;
      o.policy.window = 6;  // SnapKV protects max(window, protected_recent)
      o.policy.decode_interval = 3;
      int64_t evicted = 0;
      const RunResult r = run(*model, *backend, o, ps, 12, [&](const StepStats& s) {
        evicted += s.evicted_slots;
        for (const EvictionRecord& e : s.evictions) {
          for (int32_t p : e.positions) EXPECT_GE(p, o.policy.sinks) << name << " " << span << ": a sink was evicted";
        }
        for (const HeadRetention& h : s.retention) EXPECT_EQ(retention_problem(h, 2, 6), "") << name << " " << span;
      });
      EXPECT_EQ(r.outputs.size(), ps.size()) << name << " " << span;
      EXPECT_GT(evicted, 0) << name << " " << span << " must evict under a budget of 24 tokens";
    }
  }
}

// End to end: spans from the model's tokenizer reach the policy, and after SnapKV's one eviction
// every word span clear of the protected slots is in each head whole or not at all.
TEST(Policies, WordSpansAreKeptOrDroppedWholeInEveryHead) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  std::string text;
  for (int i = 0; i < 12; ++i) text += "the code " + std::to_string(6561234 + 7919 * i) + " is kept, ";
  const std::vector<int32_t> prompt = model->tokenizer->encode(text, false);
  const auto P = static_cast<int32_t>(prompt.size());
  const std::vector<int32_t> starts = SpanRules::for_tokenizer(*model->tokenizer, SpanKind::Word).starts(prompt);
  EngineOptions o;
  o.block_size = 4;
  o.num_blocks = 2000;
  o.policy.name = "snapkv";
  o.policy.span = "word";
  o.policy.budget_ratio = 0.4;
  o.policy.sinks = 2;
  o.policy.window = 6;
  o.policy.protected_recent = 6;
  int64_t evicted = 0, checked = 0;
  run(*model, *backend, o, {prompt}, 2, [&](const StepStats& s) {
    evicted += s.evicted_slots;
    if (evicted == 0) return;  // still prefilling: the cache holds a prefix of the prompt
    for (const HeadRetention& h : s.retention) {
      std::vector<uint8_t> held(static_cast<size_t>(P), 0);
      for (int32_t p : h.positions) {
        if (p < P) held[static_cast<size_t>(p)] = 1;
      }
      for (int32_t begin = 0; begin < P;) {
        int32_t end = begin + 1;
        while (end < P && starts[static_cast<size_t>(end)] == begin) ++end;
        if (begin >= o.policy.sinks && end <= P - o.policy.window) {
          const bool first = held[static_cast<size_t>(begin)] != 0;
          for (int32_t p = begin; p < end; ++p) EXPECT_EQ(held[static_cast<size_t>(p)] != 0, first) << "position " << p;
          ++checked;
        }
        begin = end;
      }
    }
  });
  EXPECT_GT(evicted, 0);
  EXPECT_GT(checked, 0);
  // The test means something: some spans join several tokens, and there are many spans.
  int64_t spans = 0;
  for (int32_t i = 0; i < P; ++i) spans += starts[static_cast<size_t>(i)] == i ? 1 : 0;
  EXPECT_LT(spans, P);
  EXPECT_GT(spans, 4 * 12);
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
  testing_support::ConstructedCache constructed;
  constructed.set_stats([](int head, int32_t t) {
    const float sq = head == 0 ? 1.0f + 0.01f * static_cast<float>(t)  // head 0: strong
                               : 0.01f * static_cast<float>(t + 1);    // head 1: weak
    return testing_support::SlotStats{0, sq, 4};
  });
  KvCache& cache = constructed.cache();
  const SequenceState& seq = constructed.seq();
  PolicyConfig c;
  c.name = "kv-compress";
  c.budget_tokens = 4;
  c.sinks = 0;
  c.protected_recent = 2;  // positions 6, 7 stay in both heads
  c.pool_kernel = 1;
  std::vector<EvictionRecord> trace;
  const int64_t used_before = cache.used_blocks();
  const EvictionStats st = constructed.evict(c, &trace);
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

// policy_reads (what the sweep multiplies points by) is derived from the traits; measured here:
// a knob it says a policy does not read changes no eviction of that policy.
TEST(Policies, AKnobAPolicyDoesNotReadChangesNoEviction) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  const auto ps = prompts(3, 60, model->config.vocab_size, 5);
  struct Knob {
    const char* key;
    std::function<void(PolicyConfig&, int)> set;  // the knob's first (0) or second (1) value
  };
  const std::vector<Knob> knobs = {
      {"policy.pool_kernel", [](PolicyConfig& c, int v) { c.pool_kernel = v == 0 ? 1 : 7; }},
      {"policy.window", [](PolicyConfig& c, int v) { c.window = v == 0 ? 4 : 12; }},
      {"policy.min_head_fraction", [](PolicyConfig& c, int v) { c.min_head_fraction = v == 0 ? 0.0 : 0.9; }},
      {"policy.pyramid_beta", [](PolicyConfig& c, int v) { c.pyramid_beta = v == 0 ? 1.0 : 20.0; }},
      {"policy.decode_interval", [](PolicyConfig& c, int v) { c.decode_interval = v == 0 ? 1 : 5; }},
      {"policy.chunk_guidance", [](PolicyConfig& c, int v) { c.chunk_guidance = v == 0 ? "none" : "question"; }},
  };
  auto evictions = [&](const EngineOptions& o) {
    std::vector<std::tuple<std::string, int64_t, int32_t, int32_t, std::vector<int32_t>>> out;
    run(*model, *backend, o, ps, 12, [&](const StepStats& s) {
      for (const EvictionRecord& e : s.evictions) out.emplace_back(e.request_id, e.step, e.layer, e.head, e.positions);
    });
    return out;
  };
  int not_read = 0;
  for (const std::string& name : kEvictingPolicies) {
    for (const Knob& knob : knobs) {
      EngineOptions o = traced_options(name, 20, ps.size());
      o.policy.protected_recent = 2;
      o.policy.sinks = 1;
      o.policy.window = 4;  // SnapKV protects its window: a small one leaves the scores to choose
      knob.set(o.policy, 0);
      if (policy_reads(o.policy, knob.key)) continue;
      ++not_read;
      const auto first = evictions(o);
      knob.set(o.policy, 1);
      ASSERT_FALSE(policy_reads(o.policy, knob.key)) << name << " " << knob.key;
      EXPECT_FALSE(first.empty()) << name << " must evict under a budget of 20 tokens";
      EXPECT_EQ(evictions(o), first) << name << " does not read " << knob.key << ", yet it changed the evictions";
    }
  }
  EXPECT_GT(not_read, 0);
  PolicyConfig full;
  for (const Knob& knob : knobs) EXPECT_FALSE(policy_reads(full, knob.key)) << knob.key;
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
