// RoPE on the CPU against the direct formula in double (angle = pos · inv_freq[j]), for both
// pairings, positions up to 32k. Tolerance gamma(4)·(|a·cos| + |b·sin|) per output: cos and sin
// rounded to f32, two products and a sum (the angle and cos/sin in double add ~1e-12 rad at
// 32k, counted as the fourth rounding). At 32k an angle formed in f32 is off by ~1e-3 rad,
// a thousand times the bound.
#include <gtest/gtest.h>

#include <cmath>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace kvwb::kernels {
namespace {

using test::random_floats;

std::vector<float> llama_inv_freq(int64_t head_dim, double theta) {
  std::vector<float> f(static_cast<size_t>(head_dim / 2));
  for (size_t j = 0; j < f.size(); ++j) f[j] = static_cast<float>(1.0 / std::pow(theta, 2.0 * j / head_dim));
  return f;
}

// Rotates pairs (a, b) by the angle: Half pairs j with j + d/2, Pair pairs 2j with 2j + 1.
// Also fills `bound` with the tolerance of the header comment.
std::vector<double> reference_rope(const std::vector<float>& x, int64_t n, int64_t heads, int64_t d,
                                   const std::vector<int32_t>& pos, const std::vector<float>& inv_freq,
                                   RopeStyle style, std::vector<double>& bound) {
  std::vector<double> out(x.begin(), x.end());
  bound.assign(x.size(), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t base = (t * heads + h) * d;
      for (int64_t j = 0; j < d / 2; ++j) {
        const int64_t ia = base + (style == RopeStyle::Half ? j : 2 * j);
        const int64_t ib = base + (style == RopeStyle::Half ? j + d / 2 : 2 * j + 1);
        const double angle = static_cast<double>(pos[t]) * static_cast<double>(inv_freq[j]);
        const double a = x[ia], b = x[ib];
        const double c = std::cos(angle), s = std::sin(angle);
        out[ia] = a * c - b * s;
        out[ib] = b * c + a * s;
        bound[ia] = test::gamma_f32(4) * (std::fabs(a * c) + std::fabs(b * s));
        bound[ib] = test::gamma_f32(4) * (std::fabs(b * c) + std::fabs(a * s));
      }
    }
  }
  return out;
}

class CpuRope : public ::testing::TestWithParam<std::tuple<RopeStyle, int>> {};

TEST_P(CpuRope, MatchesDirectFormulaUpTo32k) {
  const auto [style, threads] = GetParam();
  auto backend = make_cpu_backend(threads);
  const int64_t heads = 9, d = 64;
  const std::vector<int32_t> pos{0, 1, 2, 17, 4095, 4096, 4097, 9001, 16384, 32767, 32000, 123};
  const int64_t n = static_cast<int64_t>(pos.size());
  const auto inv_freq = llama_inv_freq(d, 10000.0);
  auto x = random_floats(static_cast<size_t>(n * heads * d), 77);
  std::vector<double> bound;
  const auto ref = reference_rope(x, n, heads, d, pos, inv_freq, style, bound);
  backend->rope(x.data(), n, heads, d, pos.data(), inv_freq.data(), style);
  test::expect_within(x, ref, bound, "rope");
}

TEST_P(CpuRope, PositionZeroIsIdentityAndNormsArePreserved) {
  const auto [style, threads] = GetParam();
  auto backend = make_cpu_backend(threads);
  const int64_t heads = 3, d = 6;
  const std::vector<int32_t> pos{0, 30000};
  const auto inv_freq = llama_inv_freq(d, 500000.0);
  const auto before = random_floats(static_cast<size_t>(2 * heads * d), 78);
  auto x = before;
  backend->rope(x.data(), 2, heads, d, pos.data(), inv_freq.data(), style);
  for (int64_t i = 0; i < heads * d; ++i) EXPECT_EQ(x[i], before[i]);
  for (int64_t h = 0; h < heads; ++h) {
    double n0 = 0, n1 = 0;
    for (int64_t i = 0; i < d; ++i) {
      n0 += static_cast<double>(before[(heads + h) * d + i]) * before[(heads + h) * d + i];
      n1 += static_cast<double>(x[(heads + h) * d + i]) * x[(heads + h) * d + i];
    }
    // Each output is off by at most gamma(4)·(|a| + |b|) <= gamma(4)·sqrt(2)·r for a pair of
    // norm r, so a pair's squared norm by at most 4·gamma(4)·r²·(1 + gamma(4)).
    EXPECT_NEAR(n1, n0, 4 * test::gamma_f32(4) * (1 + test::gamma_f32(4)) * n0);
  }
}

INSTANTIATE_TEST_SUITE_P(Styles, CpuRope,
                         ::testing::Combine(::testing::Values(RopeStyle::Half, RopeStyle::Pair), ::testing::Values(1, 2)));

// GGUF permutes q/k rows so that Pair on the permuted layout equals Half on the original.
TEST(CpuRopeStyles, PairOnInterleavedLayoutEqualsHalfOnSplitLayout) {
  auto backend = make_cpu_backend(1);
  const int64_t d = 8;
  const std::vector<int32_t> pos{5, 5000};
  const auto inv_freq = llama_inv_freq(d, 10000.0);
  auto split = random_floats(static_cast<size_t>(2 * d), 79);
  std::vector<float> interleaved(split.size());
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t j = 0; j < d / 2; ++j) {
      interleaved[t * d + 2 * j] = split[t * d + j];
      interleaved[t * d + 2 * j + 1] = split[t * d + j + d / 2];
    }
  }
  backend->rope(split.data(), 2, 1, d, pos.data(), inv_freq.data(), RopeStyle::Half);
  backend->rope(interleaved.data(), 2, 1, d, pos.data(), inv_freq.data(), RopeStyle::Pair);
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t j = 0; j < d / 2; ++j) {
      EXPECT_EQ(interleaved[t * d + 2 * j], split[t * d + j]);
      EXPECT_EQ(interleaved[t * d + 2 * j + 1], split[t * d + j + d / 2]);
    }
  }
}

TEST(CpuRopeErrors, OddHeadDimIsRejected) {
  auto backend = make_cpu_backend(1);
  std::vector<float> x(3), f(1);
  const int32_t pos = 0;
  EXPECT_THROW(backend->rope(x.data(), 1, 1, 3, &pos, f.data(), RopeStyle::Half), std::runtime_error);
}

}  // namespace
}  // namespace kvwb::kernels
