// Sampling on the CPU: greedy with ties, nucleus cut-offs, and inverse-CDF picks on
// distributions computed by hand; then a large vocabulary against a full-sort reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace kvwb::kernels {
namespace {

std::vector<float> log_probs(const std::vector<double>& p) {
  std::vector<float> out;
  for (double x : p) out.push_back(static_cast<float>(std::log(x)));
  return out;
}

TEST(CpuSampling, GreedyTakesTheLowestIndexAmongTies) {
  auto backend = make_cpu_backend(1);
  const std::vector<float> logits{1.0f, 5.0f, -2.0f, 5.0f, 4.9f};
  for (float u : {0.0f, 0.5f, 0.999f}) EXPECT_EQ(backend->sample(logits.data(), 5, {0.0f, 1.0f}, u), 1);
  const std::vector<float> one{-3.0f};
  EXPECT_EQ(backend->sample(one.data(), 1, {0.7f, 0.9f}, 0.5f), 0);
}

TEST(CpuSampling, TinyTopPIsGreedy) {
  auto backend = make_cpu_backend(1);
  const std::vector<float> logits{0.1f, 0.3f, 0.2f, 0.29f};
  for (float u : {0.0f, 0.5f, 0.999f}) EXPECT_EQ(backend->sample(logits.data(), 4, {1.0f, 1e-6f}, u), 1);
}

// p = (0.1, 0.4, 0.2, 0.3): in descending order ids 1, 3, 2, 0 with cumulative 0.4, 0.7, 0.9, 1.
TEST(CpuSampling, InverseCdfInDescendingProbabilityOrder) {
  auto backend = make_cpu_backend(1);
  const auto logits = log_probs({0.1, 0.4, 0.2, 0.3});
  const SamplingParams full{1.0f, 1.0f};
  const std::pair<float, int32_t> cases[] = {{0.0f, 1}, {0.39f, 1}, {0.41f, 3}, {0.69f, 3},
                                             {0.71f, 2}, {0.89f, 2}, {0.91f, 0}, {0.9999f, 0}};
  for (const auto& [u, id] : cases) EXPECT_EQ(backend->sample(logits.data(), 4, full, u), id) << "u = " << u;
}

// top_p 0.65 keeps ids 1 and 3 (mass 0.7), renormalised to 4/7 and 3/7: the boundary is
// u = 4/7 ≈ 0.571, and ids 2 and 0 are never drawn.
TEST(CpuSampling, NucleusIsRenormalised) {
  auto backend = make_cpu_backend(1);
  const auto logits = log_probs({0.1, 0.4, 0.2, 0.3});
  const SamplingParams nucleus{1.0f, 0.65f};
  EXPECT_EQ(backend->sample(logits.data(), 4, nucleus, 0.0f), 1);
  EXPECT_EQ(backend->sample(logits.data(), 4, nucleus, 0.56f), 1);
  EXPECT_EQ(backend->sample(logits.data(), 4, nucleus, 0.58f), 3);
  EXPECT_EQ(backend->sample(logits.data(), 4, nucleus, 0.9999f), 3);
}

// Temperature 2 takes square roots: p ∝ (0.3162, 0.6325, 0.4472, 0.5477), sum 1.9436, so in
// descending order (ids 1, 3, 2, 0) the cumulative is 0.3254, 0.6072, 0.8373, 1.
TEST(CpuSampling, TemperatureFlattensTheDistribution) {
  auto backend = make_cpu_backend(1);
  const auto logits = log_probs({0.1, 0.4, 0.2, 0.3});
  const SamplingParams warm{2.0f, 1.0f};
  EXPECT_EQ(backend->sample(logits.data(), 4, warm, 0.32f), 1);
  EXPECT_EQ(backend->sample(logits.data(), 4, warm, 0.33f), 3);
  EXPECT_EQ(backend->sample(logits.data(), 4, warm, 0.60f), 3);
  EXPECT_EQ(backend->sample(logits.data(), 4, warm, 0.62f), 2);  // at T = 1 this would be id 3
  EXPECT_EQ(backend->sample(logits.data(), 4, warm, 0.84f), 0);
}

TEST(CpuSampling, EqualProbabilitiesGoInIdOrder) {
  auto backend = make_cpu_backend(1);
  const std::vector<float> logits(4, 0.0f);
  EXPECT_EQ(backend->sample(logits.data(), 4, {1.0f, 1.0f}, 0.1f), 0);
  EXPECT_EQ(backend->sample(logits.data(), 4, {1.0f, 1.0f}, 0.3f), 1);
  EXPECT_EQ(backend->sample(logits.data(), 4, {1.0f, 1.0f}, 0.8f), 3);
}

// Reference: sort the whole vocabulary, cut at top_p, walk the renormalised CDF.
class ReferenceSampler {
 public:
  ReferenceSampler(const std::vector<float>& logits, double t, double top_p) : p_(logits.size()), ids_(logits.size()) {
    const double m = *std::max_element(logits.begin(), logits.end());
    double z = 0.0;
    for (size_t i = 0; i < p_.size(); ++i) z += (p_[i] = std::exp((logits[i] - m) / t));
    for (double& x : p_) x /= z;
    std::iota(ids_.begin(), ids_.end(), 0);
    std::stable_sort(ids_.begin(), ids_.end(), [&](int32_t a, int32_t b) { return p_[a] > p_[b]; });
    kept_ = ids_.size();
    if (top_p < 1.0) {
      double cum = 0.0;
      for (size_t i = 0; i < ids_.size(); ++i) {
        cum += p_[ids_[i]];
        if (cum >= top_p) {
          kept_ = i + 1;
          mass_ = cum;
          break;
        }
      }
    }
  }
  int32_t pick(double u) const {
    double cum = 0.0;
    for (size_t i = 0; i < kept_; ++i) {
      cum += p_[ids_[i]];
      if (cum > u * mass_) return ids_[i];
    }
    return ids_[kept_ - 1];
  }

 private:
  std::vector<double> p_;
  std::vector<int32_t> ids_;
  size_t kept_ = 0;
  double mass_ = 1.0;
};

TEST(CpuSampling, LargeVocabularyMatchesFullSortReference) {
  auto backend = make_cpu_backend(1);
  const auto logits = test::random_floats(49152, 17, -8.0f, 8.0f);
  auto uniforms = test::random_floats(40, 18, 0.0f, 1.0f);
  uniforms.push_back(0.0f);
  uniforms.push_back(0.99999f);
  for (const SamplingParams params : {SamplingParams{0.8f, 0.9f}, SamplingParams{1.0f, 1.0f},
                                      SamplingParams{1.5f, 0.5f}, SamplingParams{0.3f, 0.99f}}) {
    const ReferenceSampler reference(logits, params.temperature, params.top_p);
    for (float u : uniforms) {
      ASSERT_EQ(backend->sample(logits.data(), 49152, params, u), reference.pick(u))
          << "T " << params.temperature << " top_p " << params.top_p << " u " << u;
    }
  }
}

}  // namespace
}  // namespace kvwb::kernels
