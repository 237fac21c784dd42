// The CPU forward pass on the tiny GGUF fixtures (tests/fixtures/gguf/, written by gguf-py:
// `llama` with permuted Q/K rows and Q8_0/Q4_0/Q4_1/F16/BF16 tensors, `qwen2` with Q8_0 and
// biases) against transformers loading the same files (tools/make_gguf_fixtures.py): logits at
// every position, whole and chunked prefill, and greedy continuations. Always runs: no
// download needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/core/json_file.h"
#include "engine/runtime/forward.h"
#include "engine/runtime/generator.h"
#include "tests/runtime/golden_checks.h"

namespace kvwb {
namespace {

using testing_support::all_logits;
using testing_support::expect_greedy_matches;

// Max abs difference, f32 vs transformers f32 on identical dequantized weights (the HF
// fixtures' tolerance and its reasons: forward_golden_test.cpp).
constexpr float kLogitTolerance = 1e-4f;

const nlohmann::json& goldens() {
  static const nlohmann::json g = read_json_file(std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/gguf/goldens.json");
  return g;
}

std::string fixture(const std::string& name) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/gguf/" + name + ".gguf"; }

class GgufGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufGolden, LogitsMatchTransformersAtEveryPosition) {
  const auto model = load_model(fixture(GetParam()));
  auto backend = kernels::make_cpu_backend(2);
  const auto& g = goldens().at("fixtures").at(GetParam());
  const auto prompts = goldens().at("prompt_ids").get<std::vector<std::vector<int32_t>>>();
  const ModelConfig& c = model->config;
  for (int64_t chunk : {int64_t{1} << 20, int64_t{3}}) {
    for (size_t p = 0; p < prompts.size(); ++p) {
      const std::vector<float> all = all_logits(*model, *backend, prompts[p], chunk, /*block_size=*/4);
      const auto& want = g.at("logits").at(p);
      ASSERT_EQ(all.size(), want.size() * static_cast<size_t>(c.vocab_size));
      float worst = 0;
      for (size_t t = 0; t < want.size(); ++t) {
        for (int64_t v = 0; v < c.vocab_size; ++v) {
          worst = std::max(worst, std::fabs(all[t * c.vocab_size + v] - want.at(t).at(v).get<float>()));
        }
      }
      EXPECT_LE(worst, kLogitTolerance) << GetParam() << " prompt " << p << " chunk " << chunk;
    }
  }
}

TEST_P(GgufGolden, GreedyContinuationMatchesTransformers) {
  const auto model = load_model(fixture(GetParam()));
  auto backend = kernels::make_cpu_backend(2);
  const auto& g = goldens().at("fixtures").at(GetParam());
  const double near_tie = goldens().at("near_tie_margin").get<double>();
  const auto prompts = goldens().at("prompt_ids").get<std::vector<std::vector<int32_t>>>();
  GenerationOptions options;
  options.max_new_tokens = goldens().at("max_new_tokens").get<int64_t>();
  options.stop_at_eos = false;
  options.prefill_chunk = 5;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const GenerationResult r = generate(*model, *backend, prompts[p], options);
    const auto want = g.at("greedy_tokens").at(p).get<std::vector<int32_t>>();
    const auto margins = g.at("greedy_margins").at(p).get<std::vector<double>>();
    expect_greedy_matches(r.tokens, want, margins, near_tie, GetParam() + " prompt " + std::to_string(p));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufGolden, ::testing::Values("llama-tied", "qwen2-bias"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace kvwb
