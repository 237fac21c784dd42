// The whole model on the GPU against the CPU (docs/architecture.md, "Invariants"): with f32 weights the
// greedy tokens of the demo model and of the GQA fixture are the CPU's except at near-ties
// (reference top-2 margin < 1e-3); with bf16 weights (bf16 GEMM operands) the top-1 agreement
// rate with the CPU's f32 tokens, teacher-forced, is printed and must stay above a floor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/model/convert_weights.h"
#include "engine/model/model.h"
#include "engine/runtime/forward.h"
#include "engine/runtime/kv_cache.h"

namespace kvwb {
namespace {

std::string model_dir(const std::string& name) {
  return name == "demo" ? std::string(KVWB_SOURCE_DIR) + "/models/demo"
                        : std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

std::unique_ptr<Model> load_as(const std::string& name, kernels::DType dtype) {
  auto model = load_model(model_dir(name));
  convert_weights(*model, dtype);
  return model;
}

// Prompts of 5..61 tokens drawn from the vocabulary (no BOS: the demo model needs none).
std::vector<std::vector<int32_t>> prompts(int64_t vocab) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> p;
    for (int t = 0; t < 5 + 14 * i; ++t) p.push_back(static_cast<int32_t>(3 + (i * 37 + t * 11) % (vocab - 3)));
    out.push_back(p);
  }
  return out;
}

struct Trace {
  std::vector<int32_t> tokens;   // the argmax after the prompt and after each fed token
  std::vector<double> margins;   // top-1 minus top-2 logit at each of those steps
};

// How the KV cache stores its rows (KvCacheShape's kv_dtype and kv_rotated).
struct CacheFormat {
  kernels::DType dtype = kernels::DType::F32;
  bool rotated = false;
};

// Prefill in chunks of 16, then feed `forced` (or, when empty, the model's own argmax) one
// token at a time for `steps` steps; records every step's argmax and margin.
Trace run_sequence(const Model& model, kernels::Backend& backend, const std::vector<int32_t>& prompt, int64_t steps,
                   const std::vector<int32_t>& forced = {}, CacheFormat format = {}) {
  const ModelConfig& c = model.config;
  const int64_t max_tokens = static_cast<int64_t>(prompt.size()) + steps + 1;
  KvCacheShape shape{c.num_layers, c.num_kv_heads, c.head_dim, 16, c.num_layers * c.num_kv_heads * ((max_tokens + 15) / 16)};
  shape.kv_dtype = format.dtype;
  shape.kv_rotated = format.rotated;
  KvCache cache(backend, shape);
  Forward forward(model, backend);
  const int32_t seq = cache.add_sequence();
  ForwardBatch batch;
  std::vector<float> logits;
  Trace t;
  auto record = [&] {
    std::vector<float> sorted = logits;
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
    t.margins.push_back(sorted[0] - sorted[1]);
    t.tokens.push_back(static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
  };
  for (size_t begin = 0; begin < prompt.size(); begin += 16) {
    batch.clear();
    const size_t end = std::min(prompt.size(), begin + 16);
    for (size_t i = begin; i < end; ++i) batch.add(seq, prompt[i], static_cast<int32_t>(i), i + 1 == prompt.size());
    forward.run(batch, cache, logits);
  }
  record();
  for (int64_t k = 0; k < steps; ++k) {
    const int32_t next = forced.empty() ? t.tokens.back() : forced[static_cast<size_t>(k)];
    batch.clear();
    batch.add(seq, next, static_cast<int32_t>(prompt.size() + static_cast<size_t>(k)), true);
    forward.run(batch, cache, logits);
    record();
  }
  return t;
}

// Top-1 agreement of `low` on `backend`, teacher-forced on the CPU's greedy tokens of `ref`
// (so one disagreement does not change every later step); printed with `label`.
double top1_agreement(const Model& ref, const Model& low, kernels::Backend& backend, const std::string& label) {
  int64_t agree = 0, total = 0;
  for (const auto& p : prompts(ref.config.vocab_size)) {
    const Trace cpu = run_sequence(ref, kernels::test::cpu_backend(), p, 32);
    const Trace other = run_sequence(low, backend, p, 32, cpu.tokens);
    for (size_t k = 0; k < cpu.tokens.size(); ++k) agree += other.tokens[k] == cpu.tokens[k] ? 1 : 0;
    total += static_cast<int64_t>(cpu.tokens.size());
  }
  const double rate = static_cast<double>(agree) / static_cast<double>(total);
  std::printf("[ %s ] top-1 agreement with the CPU in f32: %lld / %lld = %.3f\n", label.c_str(),
              static_cast<long long>(agree), static_cast<long long>(total), rate);
  return rate;
}

// Greedy tokens of the GPU (cache in `gpu_format`) against the CPU's (in `cpu_format`) on every
// prompt: equal except where they part at a near-tie of the CPU's (top-2 margin < 1e-3).
void expect_greedy_matches_cpu(const Model& model, const std::string& label, CacheFormat cpu_format, CacheFormat gpu_format) {
  int near_ties = 0;
  for (const auto& p : prompts(model.config.vocab_size)) {
    const Trace cpu = run_sequence(model, kernels::test::cpu_backend(), p, 32, {}, cpu_format);
    const Trace gpu = run_sequence(model, kernels::test::cuda_backend(), p, 32, {}, gpu_format);
    ASSERT_EQ(gpu.tokens.size(), cpu.tokens.size());
    for (size_t k = 0; k < cpu.tokens.size(); ++k) {
      if (gpu.tokens[k] == cpu.tokens[k]) continue;
      EXPECT_LT(cpu.margins[k], 1e-3) << label << ": prompt of " << p.size() << " tokens differs at step " << k;
      ++near_ties;
      break;  // the sequences diverge from here
    }
  }
  std::printf("[ %s ] %d near-tie divergences in 4 prompts x 33 steps\n", label.c_str(), near_ties);
}

class CudaEndToEnd : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaEndToEnd, GreedyTokensInF32EqualTheCpusExceptAtNearTies) {
  KVWB_REQUIRE_CUDA();
  const auto model = load_as(GetParam(), kernels::DType::F32);
  expect_greedy_matches_cpu(*model, "f32 " + GetParam(), {}, {});
}

// The KV rotation (kernels/kv_rotation.h) through cuBLAS: an f32 cache stored rotated on the GPU
// gives the tokens of the CPU's unrotated one (the rotation changes what is stored, not attention).
TEST_P(CudaEndToEnd, RotatedKvCacheGivesTheCpusTokensExceptAtNearTies) {
  KVWB_REQUIRE_CUDA();
  const auto model = load_as(GetParam(), kernels::DType::F32);
  expect_greedy_matches_cpu(*model, "f32 rotated " + GetParam(), {}, {kernels::DType::F32, true});
}

// q8_0 rows rotated, on both backends (the demo model: head_dim 32; kv_write rounds as the CPU
// does, tests/cuda/kv_dtype_test.cpp): the same tokens except at near-ties.
TEST(CudaEndToEndQ8_0, RotatedQ8_0CacheGivesTheCpusTokensExceptAtNearTies) {
  KVWB_REQUIRE_CUDA();
  const auto model = load_as("demo", kernels::DType::F32);
  const CacheFormat q8_0_rotated{kernels::DType::Q8_0, true};
  expect_greedy_matches_cpu(*model, "q8_0 rotated demo", q8_0_rotated, q8_0_rotated);
}

TEST_P(CudaEndToEnd, Bf16WeightsTopOneAgreementWithTheCpuIsReported) {
  KVWB_REQUIRE_CUDA();
  const auto f32 = load_as(GetParam(), kernels::DType::F32);
  const auto bf16 = load_as(GetParam(), kernels::DType::BF16);
  const double rate = top1_agreement(*f32, *bf16, kernels::test::cuda_backend(), "cuda bf16 " + GetParam());
  RecordProperty("bf16_top1_agreement", std::to_string(rate));
  // Not yet measured on a GPU: a floor that a broken GEMM (chance: ~1/vocab) cannot pass. The
  // CPU with bf16 weights (f32 activations) reaches 0.98 on these models (the next test).
  EXPECT_GE(rate, 0.8);
}

// The same harness on the CPU alone (runs without a GPU): bf16 weights with f32 activations,
// what the GPU's bf16 path (bf16 activations in the GEMMs too) can be compared with.
TEST_P(CudaEndToEnd, CpuWithBf16WeightsAgreesWithF32OnTheHarness) {
  const auto f32 = load_as(GetParam(), kernels::DType::F32);
  const auto bf16 = load_as(GetParam(), kernels::DType::BF16);
  const auto p = prompts(f32->config.vocab_size).back();
  const Trace ref = run_sequence(*f32, kernels::test::cpu_backend(), p, 32);
  EXPECT_EQ(run_sequence(*f32, kernels::test::cpu_backend(), p, 32, ref.tokens).tokens, ref.tokens)
      << "teacher forcing with the model's own tokens is greedy decoding";
  EXPECT_GE(top1_agreement(*f32, *bf16, kernels::test::cpu_backend(), "cpu bf16 " + GetParam()), 0.8);
}

INSTANTIATE_TEST_SUITE_P(Models, CudaEndToEnd, ::testing::Values("demo", "llama-gqa4", "qwen2-bias"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace kvwb
