// Sampling on the GPU must pick what the CPU picks for the same logits and uniform number:
// greedy (ties, NaN), and temperature + top-p over many uniforms. Logits in host memory take
// the CPU's own sampler, so that path is identical by construction; it is checked too.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "cuda_test_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvwb::kernels {
namespace {

using test::DeviceBuffer;

int32_t gpu_sample(const std::vector<float>& logits, const SamplingParams& params, float uniform) {
  DeviceBuffer d = DeviceBuffer::from(logits);
  return test::cuda_backend().sample(d.as<float>(), static_cast<int64_t>(logits.size()), params, uniform);
}

int32_t cpu_sample(const std::vector<float>& logits, const SamplingParams& params, float uniform) {
  return test::cpu_backend().sample(logits.data(), static_cast<int64_t>(logits.size()), params, uniform);
}

TEST(CudaSample, GreedyMatchesTheCpuIncludingTiesAndNan) {
  KVWB_REQUIRE_CUDA();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<std::vector<float>> cases = {
      {1.0f, 3.0f, 3.0f, 2.0f},                   // tie: lowest index
      {nan, 5.0f, 1.0f},                          // NaN first: the CPU's scan stays at 0
      {1.0f, nan, 7.0f, nan},                     // NaN elsewhere is skipped
      {-inf, -inf, -inf},                         // all -inf: 0
      {nan, nan},                                 // all NaN: 0
      {0.0f, -0.0f, -1.0f},                       // +0 == -0: the first
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(gpu_sample(cases[i], {}, 0.5f), cpu_sample(cases[i], {}, 0.5f)) << "case " << i;
  }
  // A large vocabulary with the maximum repeated far apart.
  auto big = test::random_floats(151936, 3, -10.0f, 10.0f);
  big[100000] = 20.0f;
  big[150000] = 20.0f;
  EXPECT_EQ(gpu_sample(big, {}, 0.0f), 100000);
  EXPECT_EQ(cpu_sample(big, {}, 0.0f), 100000);
}

TEST(CudaSample, TopPMatchesTheCpuOverManyDraws) {
  KVWB_REQUIRE_CUDA();
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int64_t vocab : {7, 1000, 49152}) {
    auto logits = test::random_floats(static_cast<size_t>(vocab), static_cast<uint32_t>(vocab), -6.0f, 6.0f);
    for (int64_t i = 0; i + 3 < vocab; i += 97) logits[static_cast<size_t>(i + 3)] = logits[static_cast<size_t>(i)];  // ties
    DeviceBuffer d = DeviceBuffer::from(logits);
    for (const SamplingParams params : {SamplingParams{0.7f, 0.9f}, SamplingParams{1.0f, 1.0f},
                                        SamplingParams{1.5f, 0.5f}, SamplingParams{0.3f, 0.99f}}) {
      for (int draw = 0; draw < 50; ++draw) {
        const float u = draw == 0 ? 0.0f : (draw == 1 ? 0.99999994f : unit(rng));
        const int32_t gpu = test::cuda_backend().sample(d.as<float>(), vocab, params, u);
        ASSERT_EQ(gpu, cpu_sample(logits, params, u))
            << "vocab " << vocab << " T " << params.temperature << " top_p " << params.top_p << " u " << u;
      }
    }
  }
}

TEST(CudaSample, HostLogitsUseTheCpuSampler) {
  KVWB_REQUIRE_CUDA();
  const auto logits = test::random_floats(5000, 4, -3.0f, 3.0f);
  for (float u : {0.0f, 0.3f, 0.7f}) {
    const SamplingParams params{0.8f, 0.9f};
    EXPECT_EQ(test::cuda_backend().sample(logits.data(), 5000, params, u), cpu_sample(logits, params, u));
  }
}

TEST(CudaSample, EmptyVocabularyIsAnError) {
  KVWB_REQUIRE_CUDA();
  DeviceBuffer d(16);
  try {
    test::cuda_backend().sample(d.as<float>(), 0, {}, 0.0f);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "sample: vocabulary size must be positive, got 0");
  }
}

}  // namespace
}  // namespace kvwb::kernels
