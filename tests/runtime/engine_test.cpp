// The continuous-batching engine against single-sequence generation, and its memory invariants.
#include "engine/runtime/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

#include "engine/core/error.h"
#include "engine/runtime/generator.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::fixture_dir;

// Prompts of different lengths (3..40 tokens) made from the vocabulary.
std::vector<std::vector<int32_t>> make_prompts(int n, int64_t vocab) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> p;
    const int len = 3 + (i * 13) % 38;
    for (int t = 0; t < len; ++t) p.push_back(static_cast<int32_t>(1 + (i * 31 + t * 7) % (vocab - 1)));
    prompts.push_back(p);
  }
  return prompts;
}

// A pool of `num_blocks` blocks of `block_size` tokens, prefill in chunks of `prefill_chunk`;
// every request runs to its max_new_tokens.
EngineOptions paged(int64_t num_blocks, int64_t block_size, int64_t prefill_chunk) {
  EngineOptions o;
  o.num_blocks = num_blocks;
  o.block_size = block_size;
  o.prefill_chunk = prefill_chunk;
  o.stop_at_eos = false;
  return o;
}

struct Reference {
  std::vector<int32_t> tokens;
  std::vector<double> margins;  // top-1 minus top-2 logit at each step
};

// Each prompt alone, greedy, recording margins so near-ties can be excused (the exactness rule, docs/architecture.md).
std::vector<Reference> run_alone(const Model& model, kernels::Backend& backend,
                                 const std::vector<std::vector<int32_t>>& prompts, int64_t max_new) {
  std::vector<Reference> refs;
  for (const auto& p : prompts) {
    Reference r;
    ForwardBatch batch;
    KvCacheShape shape{model.config.num_layers, model.config.num_kv_heads, model.config.head_dim, 16,
                       model.config.num_layers * model.config.num_kv_heads * 8};
    KvCache cache(backend, shape);
    Forward forward(model, backend);
    const int32_t seq = cache.add_sequence();
    std::vector<float> logits;
    for (size_t i = 0; i < p.size(); ++i) batch.add(seq, p[i], static_cast<int32_t>(i), i + 1 == p.size());
    forward.run(batch, cache, logits);
    for (int64_t k = 0; k < max_new; ++k) {
      std::vector<float> sorted = logits;
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
      r.margins.push_back(sorted[0] - sorted[1]);
      const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      r.tokens.push_back(next);
      batch.clear();
      batch.add(seq, next, static_cast<int32_t>(p.size() + static_cast<size_t>(k)), true);
      forward.run(batch, cache, logits);
    }
    refs.push_back(r);
  }
  return refs;
}

// Compares under the exactness rule; returns the number of excused near-ties.
int expect_same(const Reference& ref, const std::vector<int32_t>& got, const std::string& what) {
  EXPECT_EQ(got.size(), ref.tokens.size()) << what;
  for (size_t k = 0; k < std::min(got.size(), ref.tokens.size()); ++k) {
    if (got[k] == ref.tokens[k]) continue;
    EXPECT_LT(ref.margins[k], 1e-3) << what << " differs at step " << k;
    return 1;
  }
  return 0;
}

std::map<std::string, std::vector<int32_t>> run_engine(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
                                                       int64_t max_new, int64_t* max_batch_seen = nullptr) {
  for (size_t i = 0; i < prompts.size(); ++i) engine.submit("r" + std::to_string(i), prompts[i], max_new);
  std::map<std::string, std::vector<int32_t>> out;
  int64_t max_batch = 0;
  for (int guard = 0; !engine.done(); ++guard) {
    if (guard > 100000) ADD_FAILURE() << "engine did not finish";
    const StepStats s = engine.step();
    max_batch = std::max(max_batch, s.batch_size);
    for (auto& f : engine.take_finished()) out[f.id] = f.output;
    if (guard > 100000) break;
  }
  if (max_batch_seen) *max_batch_seen = max_batch;
  return out;
}

TEST(Engine, BatchedGenerationEqualsEachPromptAlone) {
  const auto model = load_model(fixture_dir("llama-gqa4"));
  auto backend = kernels::make_cpu_backend(2);
  const auto prompts = make_prompts(9, model->config.vocab_size);
  const int64_t max_new = 12;
  const auto refs = run_alone(*model, *backend, prompts, max_new);
  for (const auto& [max_batch, chunk, block] : {std::tuple<int64_t, int64_t, int64_t>{1, 128, 16}, {3, 5, 4},
                                                {9, 16, 8}, {9, 1, 32}}) {
    EngineOptions o;
    o.num_blocks = 4096;
    o.block_size = block;
    o.prefill_chunk = chunk;
    o.max_batch = max_batch;
    o.stop_at_eos = false;
    Engine engine(*model, *backend, o);
    int64_t seen = 0;
    const auto out = run_engine(engine, prompts, max_new, &seen);
    EXPECT_LE(seen, max_batch);
    if (max_batch > 1) EXPECT_GT(seen, 1) << "requests ran concurrently";
    ASSERT_EQ(out.size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      expect_same(refs[i], out.at("r" + std::to_string(i)),
                  "prompt " + std::to_string(i) + " batch " + std::to_string(max_batch) + " chunk " + std::to_string(chunk) +
                      " block " + std::to_string(block));
    }
  }
}

TEST(Engine, BlocksInUseNeverExceedTheBudget) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(2);
  const auto prompts = make_prompts(12, model->config.vocab_size);
  EngineOptions o;
  o.block_size = 4;
  // Room for about three of the longest requests at once.
  o.num_blocks = 3 * blocks_for_tokens(40 + 10, KvCacheShape{model->config.num_layers, model->config.num_kv_heads,
                                                               model->config.head_dim, 4, 1});
  o.stop_at_eos = false;
  Engine engine(*model, *backend, o);
  int64_t steps = 0, max_used = 0;
  engine.add_observer([&](const StepStats& s) {
    ++steps;
    EXPECT_LE(s.peak_blocks_used, o.num_blocks);
    EXPECT_LE(s.blocks_used, o.num_blocks);
    EXPECT_EQ(s.blocks_used + s.blocks_free, o.num_blocks);
    max_used = std::max(max_used, s.peak_blocks_used);
  });
  int64_t max_batch = 0;
  const auto out = run_engine(engine, prompts, 10, &max_batch);
  EXPECT_EQ(out.size(), prompts.size());
  EXPECT_GT(steps, 0);
  EXPECT_GT(max_used, o.num_blocks / 2) << "the pool was actually used";
  EXPECT_GE(max_batch, 2);
  EXPECT_EQ(engine.cache().used_blocks(), 0) << "finished requests return their blocks";
}

TEST(Engine, RequestLargerThanThePoolIsAClearError) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o;
  o.num_blocks = 8;  // 2 layers x 2 heads x 2 blocks of 16: 32 tokens at most
  Engine engine(*model, *backend, o);
  try {
    engine.submit("big", std::vector<int32_t>(40, 5), 4);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("big: needs 12 KV blocks"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the pool holds 8"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(engine.done());
}

TEST(Engine, PreemptionAndRecomputeGiveTheSameOutput) {
  const auto model = load_model(fixture_dir("llama-untied"));
  auto backend = kernels::make_cpu_backend(2);
  const auto prompts = make_prompts(6, model->config.vocab_size);
  const int64_t max_new = 16;
  const auto refs = run_alone(*model, *backend, prompts, max_new);
  const EngineOptions o = paged(2048, 8, 8);
  Engine engine(*model, *backend, o);
  for (size_t i = 0; i < prompts.size(); ++i) engine.submit("r" + std::to_string(i), prompts[i], max_new);
  std::map<std::string, std::vector<int32_t>> out;
  int64_t preemptions = 0;
  for (int step = 0; !engine.done() && step < 10000; ++step) {
    if (step == 6) {
      // Shrink the pool mid-run so that only about two requests fit: the youngest are preempted.
      EngineOptions smaller = o;
      smaller.num_blocks = 2 * blocks_for_tokens(40 + max_new, engine.cache().shape());
      engine.update(smaller);
    }
    engine.step();
    for (auto& f : engine.take_finished()) {
      preemptions += f.preemptions;
      out[f.id] = f.output;
    }
  }
  EXPECT_GT(preemptions, 0) << "the test must actually preempt";
  ASSERT_EQ(out.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) expect_same(refs[i], out.at("r" + std::to_string(i)), "prompt " + std::to_string(i));
}

TEST(Engine, InvalidUpdateLeavesTheRunUnchanged) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o;
  o.num_blocks = 256;
  Engine engine(*model, *backend, o);
  engine.submit("a", std::vector<int32_t>(30, 5), 4);
  engine.step();
  EngineOptions bad = o;
  bad.num_blocks = 4;  // request "a" no longer fits
  EXPECT_THROW(engine.update(bad), Error);
  bad = o;
  bad.block_size = 32;
  EXPECT_THROW(engine.update(bad), Error);
  EXPECT_EQ(engine.cache().block_limit(), 256);
  while (!engine.done()) engine.step();
  EXPECT_EQ(engine.take_finished().size(), 1u);
}


// A policy that never evicts but estimates every request's peak at one block per head, so its
// reservations admit requests that do not fit together and the step itself must preempt. It is
// also the step guard: the scheduler asks for an estimate at every admission attempt, so a
// scheduler that re-plans without end inside one step (re-admitting the request it has just
// preempted) throws here instead of hanging the test.
class LowEstimatePolicy final : public CompressionPolicy {
 public:
  explicit LowEstimatePolicy(int64_t* estimates_this_step) : estimates_(estimates_this_step) {}
  std::string name() const override { return "low-estimate"; }
  int64_t peak_blocks(int64_t, int64_t, const KvCacheShape& shape, int64_t) const override {
    // A step with w waiting requests asks at most w + 2 times (admissions, the error message).
    if (++*estimates_ > 1000) throw std::runtime_error("scheduler livelock: 1000 admission attempts in one step");
    return shape.num_layers * shape.num_kv_heads;
  }

 private:
  int64_t* estimates_;
};

Engine::PolicyFactory low_estimates(int64_t* estimates_this_step) {
  return [estimates_this_step](const PolicyConfig&) { return std::make_unique<LowEstimatePolicy>(estimates_this_step); };
}

std::vector<int32_t> prompt_of(int64_t length, int seed, int64_t vocab) {
  std::vector<int32_t> p;
  for (int64_t t = 0; t < length; ++t) p.push_back(static_cast<int32_t>(1 + (seed * 31 + t * 7) % (vocab - 1)));
  return p;
}

// Issue 24: "a" (24 + 9 tokens) needs the whole pool, which shrinks live from 32 to 16 blocks
// (2 layers x 2 KV heads x 4 blocks of 8); the low estimates also admit "b". At step 3 "a"
// needs its fourth block per head while "b" holds the last free ones: "b" is preempted, and
// re-admitting it in the same step would take the blocks back (its 7-token recompute needs a
// block per head), preempt it again, and so on forever. Without re-admission "a" decodes, "b"
// waits (admitted and preempted again each step while "a" holds the pool) and recomputes after.
TEST(Engine, PreemptionMakesProgressWhenEstimatesAreLowAndThePoolShrinks) {
  const auto model = load_model(fixture_dir("llama-untied"));
  auto backend = kernels::make_cpu_backend(2);
  const std::vector<std::vector<int32_t>> prompts{prompt_of(24, 0, model->config.vocab_size),
                                                  prompt_of(4, 1, model->config.vocab_size)};
  const std::vector<int64_t> max_new{9, 8};
  std::vector<Reference> refs;
  for (size_t i = 0; i < prompts.size(); ++i) refs.push_back(run_alone(*model, *backend, {prompts[i]}, max_new[i])[0]);
  const EngineOptions o = paged(32, 8, 8);
  int64_t estimates = 0;
  Engine engine(*model, *backend, o, low_estimates(&estimates));
  engine.submit("a", prompts[0], max_new[0]);
  engine.submit("b", prompts[1], max_new[1]);
  std::map<std::string, FinishedRequest> out;
  int64_t preempting_steps = 0;
  for (int step = 0; !engine.done(); ++step) {
    ASSERT_LT(step, 200) << "the engine did not finish";
    if (step == 1) {
      EngineOptions smaller = o;
      smaller.num_blocks = 16;  // what "a" needs at its peak
      engine.update(smaller);
    }
    estimates = 0;
    const StepStats s = engine.step();
    EXPECT_LE(s.peak_blocks_used, s.blocks_total) << "step " << step;
    EXPECT_GT(s.batch_size, 0) << "step " << step << " made no progress";
    if (s.preemptions > 0) ++preempting_steps;
    for (auto& f : engine.take_finished()) out[f.id] = f;
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out.at("a").preemptions, 0) << "the oldest request is never preempted for a younger one";
  EXPECT_GT(out.at("b").preemptions, 0) << "the test must reach the preemption path";
  EXPECT_GT(preempting_steps, 0);
  expect_same(refs[0], out.at("a").output, "a");
  expect_same(refs[1], out.at("b").output, "b");
}

// The oldest request alone needs more than the pool (its estimate was low): an error naming it,
// not a loop of preemptions and recomputes that never finishes.
TEST(Engine, ARequestThatCannotFitAloneIsAnErrorNotALivelock) {
  const auto model = load_model(fixture_dir("llama-untied"));
  auto backend = kernels::make_cpu_backend(1);
  const EngineOptions o = paged(8, 8, 8);  // 2 blocks of 8 per head: 16 tokens
  int64_t estimates = 0;
  Engine engine(*model, *backend, o, low_estimates(&estimates));
  engine.submit("long", prompt_of(24, 2, model->config.vocab_size), 4);
  try {
    for (int step = 0; step < 200; ++step) {
      ASSERT_FALSE(engine.done()) << "\"long\" cannot have finished";
      estimates = 0;
      engine.step();
    }
    FAIL() << "no error after 200 steps";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("long: needs 4 more KV blocks"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no other request running"), std::string::npos) << e.what();
  }
}

// Slots cached under `full` carry no attention statistics, and batch-max's averaging score
// keeps such slots: after a live switch the request would hold its whole prompt while the
// scheduler counts its new, small reservation. The engine recomputes it under the new policy.
TEST(Engine, ALiveSwitchToAPolicyThatCannotRankTheCachedSlotsRecomputesTheRequest) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  const EngineOptions o = paged(400, 4, 16);
  Engine engine(*model, *backend, o);
  engine.submit("a", prompt_of(60, 3, model->config.vocab_size), 8);
  for (int step = 0; step < 5; ++step) engine.step();  // four prompt chunks, then decoding
  EngineOptions switched = o;
  switched.policy.name = "batch-max";
  switched.policy.budget_tokens = 8;
  switched.policy.sinks = 2;
  switched.policy.protected_recent = 4;
  engine.update(switched);
  const StepStats s = engine.step();
  EXPECT_EQ(s.preemptions, 1) << "recomputed under batch-max";
  EXPECT_LE(engine.cache().used_blocks(), engine.reserved_blocks());
  while (!engine.done()) engine.step();
  const auto finished = engine.take_finished();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].output.size(), 8u);
}

// record_top_logprobs: one distribution per generated token, kept across a preemption; with
// k = vocab it is the whole log-softmax (sums to 1) and greedy picks its first entry.
// An evicting policy on a pool of 400 blocks (no preemption for one request), prefill chunks
// of 16, 2 sinks and 4 recent tokens protected, an eviction every 2 decode steps.
EngineOptions evicting(const std::string& policy, int64_t budget, int64_t block_size) {
  EngineOptions o = paged(400, block_size, 16);
  o.policy.name = policy;
  o.policy.budget_tokens = budget;
  o.policy.sinks = 2;
  o.policy.protected_recent = 4;
  o.policy.decode_interval = 2;
  return o;
}

// A live budget raise above a running request's context (the stress test's finding): the
// request keeps every token until its context passes the new budget, so its reservation must
// cover its context growing by all of its remaining tokens, not by one decode interval.
// One request: the blocks it holds are the blocks in use, checked against its reservation at
// every step.
TEST(Engine, AReservationCoversARequestGrowingUpToARaisedBudget) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  const EngineOptions o = evicting("batch-max", 8, 4);
  Engine engine(*model, *backend, o);
  engine.submit("a", prompt_of(20, 5, model->config.vocab_size), 30);
  for (int step = 0; step < 4; ++step) engine.step();  // two prompt chunks, then decoding
  EngineOptions raised = o;
  raised.policy.budget_tokens = 64;  // more than the request's whole context will ever be
  engine.update(raised);
  int64_t most_used = 0;
  for (int step = 0; step < 100 && !engine.done(); ++step) {
    const StepStats s = engine.step();
    EXPECT_EQ(s.preemptions, 0) << "step " << s.step;
    EXPECT_LE(engine.cache().used_blocks(), engine.reserved_blocks()) << "step " << s.step;
    most_used = std::max(most_used, s.peak_blocks_used);
  }
  ASSERT_TRUE(engine.done());
  // By hand: at the update it held the 8 tokens batch-max kept after its last decode eviction
  // (3 tokens generated, 2 of them fed); the 27 it feeds afterwards are all kept (35 < 64):
  // 35 tokens a head, 9 blocks of 4, in each of the 2 x 2 heads.
  EXPECT_EQ(most_used, 4 * 9);
}

// The queries whose attention feeds the eviction statistics: the batch's first one included
// (a lone decode query was dropped, so a single decoding request was never observed).
TEST(ForwardBatch, MarksEveryObservingQueryTheFirstIncluded) {
  ForwardBatch first;
  first.add(0, 1, 0, true, true);
  EXPECT_EQ(first.observe, std::vector<uint8_t>{1});
  first.add(1, 2, 0, true, false);
  EXPECT_EQ(first.observe, (std::vector<uint8_t>{1, 0}));
  ForwardBatch later;
  later.add(0, 1, 0, true, false);
  EXPECT_TRUE(later.observe.empty()) << "no query observes yet: no statistics at all";
  later.add(1, 2, 0, true, true);
  EXPECT_EQ(later.observe, (std::vector<uint8_t>{0, 1}));
}

// A live switch from streaming-llm (which gathers no attention statistics) to batch-max (whose
// mean-attention score keeps every slot never observed) while one request decodes alone: its
// decode queries must observe the slots, or batch-max never evicts them and the request grows
// past its reservation (the stress test's other finding).
TEST(Engine, ALoneRequestSwitchedToAnAveragingPolicyIsEvictedToItsBudget) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  const EngineOptions o = evicting("streaming-llm", 49, 16);
  Engine engine(*model, *backend, o);
  engine.submit("a", prompt_of(37, 5, model->config.vocab_size), 22);
  for (int step = 0; step < 8; ++step) engine.step();  // three prompt chunks, then decoding whole
  EngineOptions switched = o;
  switched.policy.name = "batch-max";
  switched.policy.budget_tokens = 32;
  engine.update(switched);
  for (int step = 0; step < 100 && !engine.done(); ++step) {
    const StepStats s = engine.step();
    EXPECT_EQ(s.preemptions, 0) << "step " << s.step;
    EXPECT_LE(engine.cache().used_blocks(), engine.reserved_blocks()) << "step " << s.step;
    // At the switch no slot has statistics (kept whole, within the reservation); from the
    // first observed decode query on, evicted to the budget every decode interval: at most
    // 32 + 2 slots a head.
    if (step == 0) continue;
    for (const SequenceLengths& r : s.retained) {
      for (int32_t n : r.lengths) EXPECT_LE(n, 32 + 2) << "step " << s.step;
    }
  }
  ASSERT_TRUE(engine.done());
}

TEST(Engine, RecordedTopLogprobsFollowEveryGeneratedTokenAcrossPreemption) {
  const auto model = load_model(fixture_dir("llama-untied"));
  auto backend = kernels::make_cpu_backend(1);
  const int64_t vocab = model->config.vocab_size;
  const auto prompts = make_prompts(6, vocab);
  const int64_t max_new = 16;
  const EngineOptions o = paged(2048, 8, 8);
  Engine engine(*model, *backend, o);
  engine.record_top_logprobs(vocab);
  for (size_t i = 0; i < prompts.size(); ++i) engine.submit("r" + std::to_string(i), prompts[i], max_new);
  std::vector<FinishedRequest> finished;
  for (int step = 0; !engine.done() && step < 10000; ++step) {
    if (step == 6) {  // room for about two requests (prompts <= 30 tokens): the others are preempted
      EngineOptions smaller = o;
      smaller.num_blocks = 2 * blocks_for_tokens(40 + max_new, engine.cache().shape());
      engine.update(smaller);
    }
    engine.step();
    for (auto& f : engine.take_finished()) finished.push_back(std::move(f));
  }
  ASSERT_EQ(finished.size(), prompts.size());
  int64_t preemptions = 0;
  for (const FinishedRequest& f : finished) {
    preemptions += f.preemptions;
    ASSERT_EQ(f.top_logprobs.size(), f.output.size()) << f.id;
    for (size_t t = 0; t < f.output.size(); ++t) {
      const auto& dist = f.top_logprobs[t];
      ASSERT_EQ(static_cast<int64_t>(dist.size()), vocab);
      EXPECT_EQ(dist[0].id, f.output[t]) << f.id << " step " << t;
      double total = 0;
      for (const TokenLogprob& e : dist) total += std::exp(static_cast<double>(e.logprob));
      // Each probability carries a float rounding of its log (relative eps): the sum is 1 within vocab eps.
      EXPECT_NEAR(total, 1.0, static_cast<double>(vocab) * std::numeric_limits<float>::epsilon()) << f.id;
    }
  }
  EXPECT_GT(preemptions, 0) << "the test must actually preempt";
}

}  // namespace
}  // namespace kvwb
