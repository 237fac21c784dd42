// policy.chunk_guidance = question (Finch-style): between prefill chunks, the question's queries
// (fed again after every chunk, then dropped) score what the cache holds, instead of the chunk's
// own queries. A hand-made model whose attention is computed by hand shows the needle an
// unguided chunk drops being kept; on the fixture models a budget at least the context still
// reproduces full KV exactly, and the pool and the reservation cover the guide's copies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "tests/runtime/eviction_options.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::fixture_dir;

// ---- The hand-made model -----------------------------------------------------------------
// One layer, one head of dimension 4, a one-hot embedding per token. Queries and keys live in
// dims 1 and 3, one RoPE pair whose frequency (rope_theta 1e30: 1e-15 per position) leaves them
// unrotated, so attention depends on the tokens alone: a question query sees a needle key at
// logit 8, a filler query a filler key at logit 4, every other pair at 0. V, O and the MLP are
// zero: the statistics are all that matters here.
constexpr int32_t kFiller = 0, kNeedle = 1, kQuestion = 2;
constexpr float kRmsEps = 1e-6f;
const float kQuestionWeight = 2.0f, kFillerWeight = std::sqrt(2.0f);

std::unique_ptr<Model> hand_model() {
  auto m = std::make_unique<Model>();
  m->path = "(hand-made)";
  ModelConfig& c = m->config;
  c.vocab_size = 4;
  c.hidden_size = 4;
  c.intermediate_size = 1;
  c.num_layers = 1;
  c.num_heads = 1;
  c.num_kv_heads = 1;
  c.head_dim = 4;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = kRmsEps;
  c.rope_theta = 1e30f;
  c.tie_word_embeddings = true;
  ModelWeights& w = m->weights;
  // realigned's element buffers stay put as it grows: matrices may point into them.
  auto matrix = [&](int64_t rows, int64_t cols, std::vector<std::tuple<int, int, float>> entries) {
    std::vector<float> values(static_cast<size_t>(rows * cols), 0.0f);
    for (const auto& [r, col, v] : entries) values[static_cast<size_t>(r * cols + col)] = v;
    std::vector<uint8_t> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    w.realigned.push_back(std::move(bytes));
    return kernels::Matrix{kernels::DType::F32, rows, cols, w.realigned.back().data()};
  };
  w.embed = matrix(4, 4, {{0, 0, 1.0f}, {1, 1, 1.0f}, {2, 2, 1.0f}, {3, 3, 1.0f}});
  w.lm_head = w.embed;
  w.final_norm.assign(4, 1.0f);
  LayerWeights& l = w.layers.emplace_back();
  l.q = matrix(4, 4, {{1, kQuestion, kQuestionWeight}, {3, kFiller, kFillerWeight}});
  l.k = matrix(4, 4, {{1, kNeedle, kQuestionWeight}, {3, kFiller, kFillerWeight}});
  l.v = matrix(4, 4, {});
  l.o = matrix(4, 4, {});
  l.gate = matrix(1, 4, {});
  l.up = matrix(1, 4, {});
  l.down = matrix(4, 1, {});
  l.attn_norm.assign(4, 1.0f);
  l.ffn_norm.assign(4, 1.0f);
  return m;
}

// The attention logit of a query token to a key token, in double: rmsnorm scales a one-hot
// embedding by r = 1 / sqrt(1/4 + eps), and the kernel scales q.k by 1 / sqrt(head_dim).
double logit(int32_t query, int32_t key) {
  const double r2 = 1.0 / (0.25 + static_cast<double>(kRmsEps));
  if (query == kQuestion && key == kNeedle) return 0.5 * kQuestionWeight * kQuestionWeight * r2;
  if (query == kFiller && key == kFiller) return 0.5 * static_cast<double>(kFillerWeight) * kFillerWeight * r2;
  return 0.0;
}

// Batch-Max's score by hand: the mean probability each slot received from the observing
// queries that saw it. queries: (token, number of slots it sees: the causal prefix).
std::vector<double> mean_attention(const std::vector<int32_t>& slots, const std::vector<std::pair<int32_t, size_t>>& queries) {
  std::vector<double> sum(slots.size(), 0.0), count(slots.size(), 0.0);
  for (const auto& [token, seen] : queries) {
    double z = 0;
    for (size_t j = 0; j < seen; ++j) z += std::exp(logit(token, slots[j]));
    for (size_t j = 0; j < seen; ++j) {
      sum[j] += std::exp(logit(token, slots[j])) / z;
      count[j] += 1;
    }
  }
  for (size_t j = 0; j < slots.size(); ++j) sum[j] /= count[j];
  return sum;
}

struct HandRun {
  std::vector<EvictionRecord> first_eviction;           // the decisions after the first chunk
  std::vector<int32_t> after_first_chunk, after_prefill;  // positions held then (prefill: its last step)
  int64_t guide_tokens = 0;
};

// The prompt F N F F | F F, then the question Q Q: as a `question` (compressed before it), or
// as the prompt's last two tokens (guide: the last `window` = 2 of them). Chunks of 4, a budget
// of 2, nothing protected.
HandRun run_hand(const Model& model, const std::string& guidance, bool question_field) {
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o;
  o.num_blocks = 64;
  o.block_size = 4;
  o.prefill_chunk = 4;
  o.stop_at_eos = false;
  o.policy.name = "batch-max";
  o.policy.budget_tokens = 2;
  o.policy.sinks = 0;
  o.policy.protected_recent = 0;
  o.policy.window = 2;
  o.policy.decode_interval = 100;
  o.policy.chunk_guidance = guidance;
  o.trace_ids = {"r0"};
  Engine engine(model, *backend, o);
  const std::vector<int32_t> prompt = {kFiller, kNeedle, kFiller, kFiller, kFiller, kFiller, kQuestion, kQuestion};
  engine.submit("r0", prompt, 2, question_field ? 2 : 0);
  HandRun r;
  for (int step = 0; !engine.done() && step < 20; ++step) {
    engine.request_retention_snapshot();
    const StepStats s = engine.step();
    r.guide_tokens += s.guide_tokens;
    if (step == 0) r.first_eviction = s.evictions;
    if (!s.retention.empty() && step == 0) r.after_first_chunk = s.retention.front().positions;
    if (s.prefill_tokens > 0 && !s.retention.empty()) r.after_prefill = s.retention.front().positions;
    engine.take_finished();
  }
  EXPECT_TRUE(engine.done());
  return r;
}

// Relative tolerance of a probability computed in f32 from logits up to 8: the exponent's
// argument carries about (logit + 1) rounding errors of FLT_EPSILON, the sums a few more.
const double kTolerance = 16 * FLT_EPSILON * (1 + 8);

void expect_near_relative(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, kTolerance * std::abs(expected)) << what;
}

TEST(ChunkGuidance, WithoutGuidanceTheFirstChunkDropsTheNeedleByHandComputedScores) {
  const auto model = hand_model();
  for (const bool question_field : {true, false}) {
    const HandRun r = run_hand(*model, "none", question_field);
    // The chunk's own queries: F sees F; N sees F, N uniformly; F, F attend to fillers.
    const std::vector<double> s = mean_attention(
        {kFiller, kNeedle, kFiller, kFiller}, {{kFiller, 1}, {kNeedle, 2}, {kFiller, 3}, {kFiller, 4}});
    ASSERT_LT(s[1], s[3]);  // the needle scores lowest: 0.172 against 0.331, 0.413, 0.582
    ASSERT_LT(s[3], s[2]);
    ASSERT_LT(s[2], s[0]);
    EXPECT_EQ(r.after_first_chunk, (std::vector<int32_t>{0, 2})) << question_field;
    ASSERT_EQ(r.first_eviction.size(), 1u);
    EXPECT_EQ(r.first_eviction[0].positions, (std::vector<int32_t>{1, 3}));
    ASSERT_EQ(r.first_eviction[0].scores.size(), 2u);
    expect_near_relative(r.first_eviction[0].scores[0], s[1], "needle");
    expect_near_relative(r.first_eviction[0].scores[1], s[3], "position 3");
    expect_near_relative(r.first_eviction[0].threshold, s[2], "lowest kept");
    EXPECT_EQ(std::count(r.after_prefill.begin(), r.after_prefill.end(), 1), 0) << "the needle came back";
    EXPECT_EQ(r.guide_tokens, 0);
  }
}

TEST(ChunkGuidance, TheQuestionsQueriesKeepTheNeedleByHandComputedScores) {
  const auto model = hand_model();
  for (const bool question_field : {true, false}) {
    const HandRun r = run_hand(*model, "question", question_field);
    // After the first chunk, Q Q (the question, or the prompt's last 2 tokens) are fed at
    // positions 4 and 5 and alone observe: the needle gets nearly all of their attention.
    const std::vector<double> s =
        mean_attention({kFiller, kNeedle, kFiller, kFiller, kQuestion, kQuestion}, {{kQuestion, 5}, {kQuestion, 6}});
    ASSERT_GT(s[1], 0.99);
    ASSERT_EQ(s[0], s[2]);
    ASSERT_EQ(s[2], s[3]);  // the fillers tie: the older go first
    EXPECT_EQ(r.after_first_chunk, (std::vector<int32_t>{1, 3})) << question_field;
    ASSERT_EQ(r.first_eviction.size(), 1u);
    EXPECT_EQ(r.first_eviction[0].positions, (std::vector<int32_t>{0, 2}));  // the copies never show
    ASSERT_EQ(r.first_eviction[0].scores.size(), 2u);
    expect_near_relative(r.first_eviction[0].scores[0], s[0], "position 0");
    expect_near_relative(r.first_eviction[0].scores[1], s[2], "position 2");
    expect_near_relative(r.first_eviction[0].threshold, s[3], "lowest kept");
    EXPECT_EQ(std::count(r.after_prefill.begin(), r.after_prefill.end(), 1), 1) << "the needle is kept to the end";
    // The question is fed again after both chunks; without one, the guide (the prompt's last 2
    // tokens) is copied after the first chunk and is the second chunk's own tail.
    EXPECT_EQ(r.guide_tokens, question_field ? 4 : 2);
  }
}

// ---- The fixture models --------------------------------------------------------------------

std::vector<int32_t> prompt_of(int64_t len, int64_t vocab, int salt) {
  std::vector<int32_t> p;
  for (int64_t t = 0; t < len; ++t) p.push_back(static_cast<int32_t>(1 + (salt * 53 + t * 29) % (vocab - 1)));
  return p;
}

struct Outcome {
  std::map<std::string, std::vector<int32_t>> outputs;
  int64_t max_peak_blocks = 0;
  int64_t max_running = 0;  // sequences admitted at once
  int64_t preemptions = 0;
  int64_t guide_tokens = 0;
};

Outcome run(const Model& model, EngineOptions o, const std::vector<std::vector<int32_t>>& ps, int64_t question_tokens,
            int64_t max_new) {
  auto backend = kernels::make_cpu_backend(2);
  o.stop_at_eos = false;
  Engine engine(model, *backend, o);
  for (size_t i = 0; i < ps.size(); ++i) engine.submit("r" + std::to_string(i), ps[i], max_new, question_tokens);
  Outcome r;
  for (int step = 0; !engine.done() && step < 20000; ++step) {
    const StepStats s = engine.step();
    EXPECT_LE(s.peak_blocks_used, o.num_blocks) << "step " << s.step;
    r.max_peak_blocks = std::max(r.max_peak_blocks, s.peak_blocks_used);
    r.max_running = std::max(r.max_running, s.running + s.finished);
    r.preemptions += s.preemptions;
    r.guide_tokens += s.guide_tokens;
    for (auto& f : engine.take_finished()) r.outputs[f.id] = f.output;
  }
  EXPECT_TRUE(engine.done());
  return r;
}

// Nothing evicted: the guide's copies only add queries that the chunk cannot see (they come
// after it) and slots that are dropped again, so every token is computed as without them.
TEST(ChunkGuidance, BudgetAtLeastTheContextReproducesFullKvWithEverySpanKind) {
  const auto model = load_model(fixture_dir("llama-gqa4"));
  std::vector<std::vector<int32_t>> ps;
  for (int i = 0; i < 3; ++i) ps.push_back(prompt_of(30 + 9 * i, model->config.vocab_size, i));
  EngineOptions o;
  o.num_blocks = 4096;
  o.block_size = 8;
  o.prefill_chunk = 8;
  o.policy.window = 5;
  for (const int64_t question : {0, 6}) {
    const Outcome full = run(*model, o, ps, question, 12);
    ASSERT_EQ(full.outputs.size(), ps.size());
    for (const char* policy : {"batch-max", "kv-compress"}) {
      for (const char* span : {"none", "word"}) {
        EngineOptions p = o;
        p.policy.name = policy;
        p.policy.chunked_prefill = true;
        p.policy.budget_tokens = 1000;
        p.policy.span = span;
        p.policy.chunk_guidance = "question";
        const Outcome r = run(*model, p, ps, question, 12);
        EXPECT_EQ(r.outputs, full.outputs) << policy << " span " << span << " question " << question;
        EXPECT_GT(r.guide_tokens, 0) << policy << ": the chunks were not guided";
      }
    }
  }
}

// Budget 32, chunks of 16, a guide of 8 (window, no question) on 4-token blocks: a head holds
// at most 32 + 16 + 8 slots (the copies ride on top of Batch-Max's budget + one chunk), and the
// reservation counts them: a pool of exactly that admits the request and runs it without a
// preemption, a pool one block per head smaller refuses it.
TEST(ChunkGuidance, PeakAndReservationCoverTheGuidesCopies) {
  const auto model = load_model(fixture_dir("llama-tied"));
  const KvCacheShape shape{model->config.num_layers, model->config.num_kv_heads, model->config.head_dim, 4, 1};
  const int64_t heads = shape.num_layers * shape.num_kv_heads;
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.policy.name = "batch-max";
  o.policy.budget_tokens = 32;
  o.policy.sinks = 2;
  o.policy.protected_recent = 8;
  o.policy.window = 8;
  o.policy.decode_interval = 4;
  o.policy.chunk_guidance = "question";
  for (const char* span : {"none", "word"}) {
    o.policy.span = span;
    o.num_blocks = blocks_for_tokens(32 + 16 + 8, shape);
    const std::vector<std::vector<int32_t>> ps = {prompt_of(200, model->config.vocab_size, 1)};
    const Outcome r = run(*model, o, ps, 0, 8);
    EXPECT_EQ(r.outputs.size(), 1u) << span;
    EXPECT_EQ(r.preemptions, 0) << span;
    EXPECT_GT(r.max_peak_blocks, blocks_for_tokens(32 + 16, shape)) << span << ": the copies were appended";
    EXPECT_LE(r.max_peak_blocks, o.num_blocks) << span;
    // 13 chunks; the last, [192, 200), holds the guide [192, 200) itself: 12 copies of 8.
    EXPECT_EQ(r.guide_tokens, 12 * 8) << span;
    auto backend = kernels::make_cpu_backend(1);
    o.num_blocks -= heads;
    Engine small(*model, *backend, o);
    EXPECT_THROW(small.submit("r0", ps[0], 8), Error) << span;
  }
}

// The Batch-Max point survives guidance: one fixed pool of about two full-KV requests admits
// more guided Batch-Max requests than decode-only ones (which cache whole prompts), if a few
// fewer than unguided Batch-Max (the copies ride on top of budget + chunk).
TEST(ChunkGuidance, GuidedBatchMaxStillAdmitsMoreThanDecodeOnly) {
  const auto model = load_model(fixture_dir("llama-tied"));
  std::vector<std::vector<int32_t>> ps;
  for (int i = 0; i < 8; ++i) ps.push_back(prompt_of(170, model->config.vocab_size, i + 5));
  const KvCacheShape shape{model->config.num_layers, model->config.num_kv_heads, model->config.head_dim, 4, 1};
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.num_blocks = 2 * blocks_for_tokens(170 + 4, shape) + 8;
  o.policy.budget_tokens = 32;
  o.policy.protected_recent = 8;
  o.policy.window = 8;
  o.policy.decode_interval = 4;
  auto with = [&](const char* policy, const char* guidance) {
    EngineOptions p = o;
    p.policy.name = policy;
    p.policy.chunk_guidance = guidance;
    return run(*model, p, ps, 0, 4).max_running;
  };
  const int64_t decode_only = with("decode-only", "none"), guided = with("batch-max", "question"),
                blind = with("batch-max", "none");
  EXPECT_GT(guided, decode_only);
  EXPECT_LE(guided, blind);
  RecordProperty("max_running_decode_only", std::to_string(decode_only));
  RecordProperty("max_running_batch_max_guided", std::to_string(guided));
  RecordProperty("max_running_batch_max", std::to_string(blind));
}

// Every evicting policy with guidance under a tight budget: the pool holds, and only the
// policies that evict between chunks by attention feed copies.
TEST(ChunkGuidance, EveryPolicyKeepsThePoolAndOnlyChunkEvictingOnesAreGuided) {
  const auto model = load_model(fixture_dir("llama-tied"));
  std::vector<std::vector<int32_t>> ps;
  for (int i = 0; i < 4; ++i) ps.push_back(prompt_of(60 + 5 * i, model->config.vocab_size, i + 3));
  for (const char* policy : {"decode-only", "batch-max", "kv-compress", "streaming-llm", "h2o", "snapkv", "pyramidkv",
                             "ada-kv"}) {
    for (const int64_t question : {0, 7}) {
      EngineOptions o = testing_support::small_block_options(policy, 24);
      o.policy.chunked_prefill = true;
      o.policy.sinks = 2;
      o.policy.protected_recent = 6;
      o.policy.window = 6;
      o.policy.decode_interval = 3;
      o.policy.span = "word";
      o.policy.chunk_guidance = "question";
      const Outcome r = run(*model, o, ps, question, 10);
      EXPECT_EQ(r.outputs.size(), ps.size()) << policy;
      const bool guided = std::string(policy) == "batch-max" || std::string(policy) == "kv-compress";
      EXPECT_EQ(r.guide_tokens > 0, guided) << policy << " question " << question;
    }
  }
}

// Live: switched on mid-prompt, the next chunks are guided; a bad value leaves the run as it was.
TEST(ChunkGuidance, ALiveChangeGuidesTheNextChunksAndABadOneIsRefused) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.num_blocks = 2000;
  o.stop_at_eos = false;
  o.policy.name = "batch-max";
  o.policy.budget_tokens = 24;
  o.policy.window = 8;
  Engine engine(*model, *backend, o);
  engine.submit("r0", prompt_of(100, model->config.vocab_size, 2), 4);
  EXPECT_EQ(engine.step().guide_tokens, 0);  // chunk [0, 16), unguided
  EngineOptions bad = o;
  bad.policy.chunk_guidance = "answer";
  EXPECT_THROW(engine.update(bad), Error);
  EXPECT_EQ(engine.options().policy.chunk_guidance, "none");
  o.policy.chunk_guidance = "question";
  engine.update(o);
  int64_t guided = 0;
  while (!engine.done()) guided += engine.step().guide_tokens;
  // The 6 chunks [16, 32) ... [96, 100) each get the guide [92, 100) copied (the last holds only
  // half of it, so it is copied too).
  EXPECT_EQ(guided, 6 * 8);
}

TEST(ChunkGuidance, AnUnknownGuidanceIsRefusedNamingTheKey) {
  PolicyConfig c;
  c.name = "batch-max";
  c.budget_tokens = 8;
  c.chunk_guidance = "answer";
  try {
    make_policy(c);
    FAIL() << "accepted 'answer'";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "policy.chunk_guidance: must be none or question, got 'answer'");
  }
}

}  // namespace
}  // namespace kvwb
