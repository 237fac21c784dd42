// The CPU forward pass against transformers' f32 logits on every fixture model (tied and
// untied, sharded, Qwen2 bias, llama3 RoPE scaling, bf16/f16 storage, GQA 4), whole prompts and
// chunked prefill across KV block boundaries.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/runtime/forward.h"
#include "engine/runtime/generator.h"
#include "tests/runtime/golden_checks.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::all_logits;
using testing_support::expect_greedy_matches;
using testing_support::fixture_dir;
using testing_support::fixture_names;
using testing_support::golden_prompts;
using testing_support::goldens;

// Max abs difference, f32 vs transformers f32: two summation orders of the same model. Not a
// rounding bound (through whole layers a worst-case one exceeds the logits); 300 u relative to
// the fixtures' largest logit (~5): kernel errors are caught by the kernel tests' derived
// bounds, a wrong model is off by far more (docs/reliability.md, "Tolerances that hold on any CPU").
constexpr float kLogitTolerance = 1e-4f;

// Every golden prompt of fixture `name`, prefilled in chunks of `chunk` into blocks of
// `block_size` (the cache's rows rotated when `kv_rotated`): logits within kLogitTolerance of
// transformers' at every position.
void expect_logits_match(const std::string& name, int64_t chunk, int64_t block_size, bool kv_rotated) {
  const auto model = load_model(fixture_dir(name));
  auto backend = kernels::make_cpu_backend(2);
  const auto& g = goldens().at("fixtures").at(name);
  const auto prompts = golden_prompts();
  const auto vocab = static_cast<size_t>(model->config.vocab_size);
  for (size_t p = 0; p < prompts.size(); ++p) {
    const std::vector<float> logits = all_logits(*model, *backend, prompts[p], chunk, block_size, kv_rotated);
    const auto& want = g.at("logits").at(p);
    ASSERT_EQ(logits.size(), want.size() * vocab);
    float max_diff = 0;
    for (size_t t = 0; t < want.size(); ++t) {
      for (size_t v = 0; v < vocab; ++v) max_diff = std::max(max_diff, std::fabs(logits[t * vocab + v] - want.at(t).at(v).get<float>()));
    }
    EXPECT_LE(max_diff, kLogitTolerance) << name << " prompt " << p << " chunk " << chunk << " block " << block_size;
  }
}

class ForwardGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardGolden, LogitsMatchTransformersAtEveryPosition) {
  for (const auto& [chunk, block_size] : {std::pair<int64_t, int64_t>{1 << 20, 16}, {7, 4}, {1, 16}}) {
    expect_logits_match(GetParam(), chunk, block_size, false);
  }
}

// The KV rotation (kernels/kv_rotation.h) changes what the cache stores, not what attention
// computes: with f32 rows (nothing rounded but the rotation's own sums) the logits still match
// transformers within the same tolerance, chunked or not, which checks that queries, keys, values
// and the attention output are rotated consistently.
TEST_P(ForwardGolden, RotatedKvCacheGivesTheSameLogits) {
  for (const auto& [chunk, block_size] : {std::pair<int64_t, int64_t>{1 << 20, 16}, {7, 4}}) {
    expect_logits_match(GetParam(), chunk, block_size, true);
  }
}

TEST_P(ForwardGolden, GreedyContinuationMatchesTransformers) {
  const std::string name = GetParam();
  const auto model = load_model(fixture_dir(name));
  auto backend = kernels::make_cpu_backend(2);
  const auto& g = goldens().at("fixtures").at(name);
  const double near_tie = goldens().at("near_tie_margin").get<double>();
  const auto prompts = golden_prompts();
  GenerationOptions options;
  options.max_new_tokens = goldens().at("max_new_tokens").get<int64_t>();
  options.stop_at_eos = false;
  options.prefill_chunk = 16;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const GenerationResult r = generate(*model, *backend, prompts[p], options);
    const auto want = g.at("greedy_tokens").at(p).get<std::vector<int32_t>>();
    const auto margins = g.at("greedy_margins").at(p).get<std::vector<double>>();
    expect_greedy_matches(r.tokens, want, margins, near_tie, name + " prompt " + std::to_string(p));
  }
}

TEST_P(ForwardGolden, TokenizerReproducesPromptIds) {
  const auto model = load_model(fixture_dir(GetParam()));
  const auto texts = goldens().at("prompts").get<std::vector<std::string>>();
  const auto ids = golden_prompts();
  for (size_t p = 0; p < texts.size(); ++p) EXPECT_EQ(model->tokenizer->encode(texts[p], false), ids[p]) << texts[p];
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ForwardGolden, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

}  // namespace
}  // namespace kvwb
