// A request's question (the last tokens of its prompt, Request::question): the policy compresses
// the prompt before it as at the end of prefill, the question is then prefilled whole, and decode
// follows. With nothing evicted this is the concatenated prompt's computation, for every policy.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "engine/config/policy_names.h"
#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::fixture_dir;

struct Prompt {
  std::vector<int32_t> ids;
  int64_t question_tokens = 0;
};

// Prompts whose question starts on a chunk boundary (of 8), so that splitting the prefill there
// changes no chunk: the run with the question and the concatenated run do the same arithmetic.
std::vector<Prompt> prompts(int64_t vocab) {
  std::vector<Prompt> out;
  for (int i = 0; i < 3; ++i) {
    Prompt p;
    const int before = 24 + 8 * i, question = 5 + 2 * i;
    for (int t = 0; t < before + question; ++t) p.ids.push_back(static_cast<int32_t>(1 + (i * 41 + t * 23) % (vocab - 1)));
    p.question_tokens = question;
    out.push_back(p);
  }
  return out;
}

struct Outcome {
  std::map<std::string, std::vector<int32_t>> outputs;
  // Per request: the positions each (layer, head) holds once the whole prompt is in the cache,
  // before the first decode token (the step whose snapshot first shows the prompt's last token).
  std::map<std::string, std::vector<std::vector<int32_t>>> after_prefill;
};

Outcome run(const Model& model, EngineOptions o, const std::vector<Prompt>& ps, bool with_questions) {
  auto backend = kernels::make_cpu_backend(2);
  o.stop_at_eos = false;
  Engine engine(model, *backend, o);
  for (size_t i = 0; i < ps.size(); ++i) {
    engine.submit("r" + std::to_string(i), ps[i].ids, 10, with_questions ? ps[i].question_tokens : 0);
  }
  Outcome r;
  for (int step = 0; !engine.done() && step < 10000; ++step) {
    engine.request_retention_snapshot();
    const StepStats s = engine.step();
    EXPECT_LE(s.peak_blocks_used, o.num_blocks);
    for (const HeadRetention& h : s.retention) {
      const size_t i = static_cast<size_t>(std::stoi(h.request_id.substr(1)));
      const auto last = static_cast<int32_t>(ps[i].ids.size()) - 1;
      auto& heads = r.after_prefill[h.request_id];
      const bool complete = std::find(h.positions.begin(), h.positions.end(), last) != h.positions.end();
      const bool first_time = heads.size() < static_cast<size_t>(model.config.num_layers * model.config.num_kv_heads);
      if (complete && first_time && h.positions.back() == last) heads.push_back(h.positions);
    }
    for (auto& f : engine.take_finished()) r.outputs[f.id] = f.output;
  }
  EXPECT_TRUE(engine.done());
  return r;
}

EngineOptions options() {
  EngineOptions o;
  o.num_blocks = 4096;
  o.block_size = 8;
  o.prefill_chunk = 8;
  return o;
}

TEST(Question, FullKvGivesTheConcatenatedPromptsTokens) {
  const auto model = load_model(fixture_dir("llama-gqa4"));
  const auto ps = prompts(model->config.vocab_size);
  const Outcome concatenated = run(*model, options(), ps, false);
  const Outcome split = run(*model, options(), ps, true);
  ASSERT_EQ(concatenated.outputs.size(), ps.size());
  EXPECT_EQ(split.outputs, concatenated.outputs);
}

TEST(Question, EveryPolicyWithABudgetAtLeastTheContextReproducesFullKv) {
  const auto model = load_model(fixture_dir("llama-gqa4"));
  const auto ps = prompts(model->config.vocab_size);
  const Outcome full = run(*model, options(), ps, false);
  for (std::string_view name : policy_names()) {
    EngineOptions o = options();
    o.policy.name = std::string(name);
    if (name != "full") o.policy.budget_tokens = 1000;
    EXPECT_EQ(run(*model, o, ps, true).outputs, full.outputs) << name;
  }
}

TEST(Question, EveryPolicyKeepsTheWholeQuestionAndCompressesOnlyThePromptBeforeIt) {
  const auto model = load_model(fixture_dir("llama-tied"));
  const auto ps = prompts(model->config.vocab_size);
  for (std::string_view name : policy_names()) {
    if (name == "full") continue;
    EngineOptions o = options();
    o.policy.name = std::string(name);
    o.policy.budget_tokens = 12;
    o.policy.sinks = 2;
    o.policy.protected_recent = 2;
    o.policy.window = 4;
    o.policy.decode_interval = 100;  // no decode eviction inside these 10 tokens
    const Outcome r = run(*model, o, ps, true);
    EXPECT_EQ(r.outputs.size(), ps.size()) << name;
    for (size_t i = 0; i < ps.size(); ++i) {
      const auto& heads = r.after_prefill.at("r" + std::to_string(i));
      ASSERT_EQ(heads.size(), static_cast<size_t>(model->config.num_layers * model->config.num_kv_heads)) << name;
      const auto begin = static_cast<int32_t>(ps[i].ids.size() - static_cast<size_t>(ps[i].question_tokens));
      int64_t prompt_kept = 0;
      for (const std::vector<int32_t>& positions : heads) {
        for (int32_t q = begin; q < static_cast<int32_t>(ps[i].ids.size()); ++q) {
          EXPECT_TRUE(std::binary_search(positions.begin(), positions.end(), q)) << name << ": question position " << q;
        }
        prompt_kept += std::count_if(positions.begin(), positions.end(), [&](int32_t p) { return p < begin; });
      }
      EXPECT_LT(prompt_kept, static_cast<int64_t>(heads.size()) * begin) << name << " compressed nothing";
    }
  }
}

TEST(Question, StreamingLlmKeepsSinksAndTheNewestTokensBeforeTheQuestion) {
  // Hand-computed: budget 10 with 2 sinks keeps positions 0, 1 and the 8 before the question,
  // then every question position; the ratio budget counts only the prompt before the question.
  const auto model = load_model(fixture_dir("llama-tied"));
  std::vector<Prompt> ps = {prompts(model->config.vocab_size)[1]};  // 32 tokens, then a question of 7
  ASSERT_EQ(ps[0].ids.size(), 39u);
  for (const bool ratio : {false, true}) {
    EngineOptions o = options();
    o.policy.name = "streaming-llm";
    o.policy.sinks = 2;
    o.policy.protected_recent = 0;
    o.policy.decode_interval = 100;
    if (ratio) o.policy.budget_ratio = 10.0 / 32.0;  // ceil(0.3125 * 32) = 10, not of 39 tokens
    else o.policy.budget_tokens = 10;
    const Outcome r = run(*model, o, ps, true);
    std::vector<int32_t> expected = {0, 1};
    for (int32_t p = 24; p < 39; ++p) expected.push_back(p);
    for (const std::vector<int32_t>& positions : r.after_prefill.at("r0")) EXPECT_EQ(positions, expected) << ratio;
  }
}

TEST(Question, MustLeaveAPromptBeforeIt) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  Engine engine(*model, *backend, options());
  try {
    engine.submit("q", {1, 2, 3}, 4, 3);
    FAIL() << "a prompt that is all question was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q: question of 3 tokens in a prompt of 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvwb
