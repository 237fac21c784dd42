// The KV rotation (kernels/kv_rotation.h): its blocks, orthogonality, agreement with Sylvester's
// recursive construction, and the reason it exists: a row with one large channel loses less to
// q8_0 rounding when it is rotated first.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kv_rotation.h"
#include "kernels/quant.h"

namespace kvwb::kernels {
namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();

// Sylvester's construction, H_1 = [1], H_2n = [[H, H], [H, -H]], unnormalized, in double: an
// independent spelling of the matrix kv_rotation_matrix builds from bit counts.
std::vector<double> sylvester(int64_t n) {
  std::vector<double> h{1.0};
  for (int64_t m = 1; m < n; m *= 2) {
    std::vector<double> next(static_cast<size_t>(4 * m * m));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < m; ++j) {
        const double v = h[static_cast<size_t>(i * m + j)];
        next[static_cast<size_t>(i * 2 * m + j)] = v;
        next[static_cast<size_t>(i * 2 * m + j + m)] = v;
        next[static_cast<size_t>((i + m) * 2 * m + j)] = v;
        next[static_cast<size_t>((i + m) * 2 * m + j + m)] = -v;
      }
    }
    h = std::move(next);
  }
  return h;
}

TEST(KvRotation, BlocksAreTheLargestPowerOfTwoDividingHeadDim) {
  EXPECT_EQ(kv_rotation_block(64), 64);
  EXPECT_EQ(kv_rotation_block(128), 128);
  EXPECT_EQ(kv_rotation_block(96), 32);
  EXPECT_EQ(kv_rotation_block(160), 32);
  EXPECT_EQ(kv_rotation_block(80), 16);
  EXPECT_EQ(kv_rotation_block(1), 1);
  EXPECT_THROW(kv_rotation_block(0), std::invalid_argument);
}

TEST(KvRotation, IsBlockDiagonalSylvesterHadamardTimesFixedSigns) {
  for (int64_t d : {32, 64, 96, 128}) {
    const int64_t p = kv_rotation_block(d);
    const std::vector<double> h = sylvester(p);
    const std::vector<float> r = kv_rotation_matrix(d);
    ASSERT_EQ(r.size(), static_cast<size_t>(d * d));
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        const bool same_block = i / p == j / p;
        const double want = same_block ? h[static_cast<size_t>((i % p) * p + j % p)] / std::sqrt(static_cast<double>(p)) *
                                             kv_rotation_sign(j)
                                       : 0.0;
        // One rounding of 1/sqrt(p) to float: relative error at most eps/2.
        EXPECT_NEAR(r[static_cast<size_t>(i * d + j)], want, std::fabs(want) * kEps / 2) << d << ": " << i << "," << j;
      }
    }
  }
}

TEST(KvRotation, SignsAreMixed) {
  int negative = 0;
  for (int64_t c = 0; c < 128; ++c) {
    EXPECT_EQ(std::fabs(kv_rotation_sign(c)), 1.0f);
    negative += kv_rotation_sign(c) < 0;
  }
  // Not all alike (a constant row would otherwise map onto one output channel).
  EXPECT_GT(negative, 0);
  EXPECT_LT(negative, 128);
}

TEST(KvRotation, IsOrthogonal) {
  for (int64_t d : {64, 96}) {
    const std::vector<float> r = kv_rotation_matrix(d);
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t k = 0; k < d; ++k) {
        double dot = 0;  // in double: each product of two floats is exact
        for (int64_t j = 0; j < d; ++j) {
          dot += static_cast<double>(r[static_cast<size_t>(i * d + j)]) * r[static_cast<size_t>(k * d + j)];
        }
        // Off the diagonal the ±n² terms cancel exactly; on it, p·fl(1/sqrt p)² = 1 within 2·(eps/2).
        EXPECT_NEAR(dot, i == k ? 1.0 : 0.0, kEps) << d << ": " << i << "," << k;
      }
    }
  }
}

// Rounds x (d values) through `dtype`, rotated first when `rotate`; returns the largest error.
double largest_rounding_error(DType dtype, const std::vector<float>& x, bool rotate) {
  const auto d = static_cast<int64_t>(x.size());
  const std::vector<float> r = kv_rotation_matrix(d);
  std::vector<float> in(x.size()), back(x.size());
  for (int64_t i = 0; i < d; ++i) {
    double s = 0;
    for (int64_t j = 0; j < d; ++j) s += static_cast<double>(r[static_cast<size_t>(i * d + j)]) * x[static_cast<size_t>(j)];
    in[static_cast<size_t>(i)] = rotate ? static_cast<float>(s) : x[static_cast<size_t>(i)];
  }
  std::vector<uint8_t> packed(static_cast<size_t>(d) * 2);
  quantize_row(dtype, in.data(), packed.data(), d);
  dequantize_row(dtype, packed.data(), back.data(), d);
  double worst = 0;
  for (int64_t j = 0; j < d; ++j) {
    double s = back[static_cast<size_t>(j)];
    if (rotate) {  // Rᵀ: column j of R
      s = 0;
      for (int64_t i = 0; i < d; ++i) s += static_cast<double>(r[static_cast<size_t>(i * d + j)]) * back[static_cast<size_t>(i)];
    }
    worst = std::max(worst, std::fabs(s - x[static_cast<size_t>(j)]));
  }
  return worst;
}

TEST(KvRotation, ALargeChannelCostsItsBlockLessPrecisionWhenRotated) {
  // A key row of 64 channels, sin(0.7 i) in [-1, 1], with channel 5 at 100 (keys have a few such).
  std::vector<float> x(64);
  double l1 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = i == 5 ? 100.0f : static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
    l1 += std::fabs(x[i]);
  }
  // Unrotated q8_0: channel 5 sets its block's step to f16(100/127) ≈ 0.787, and the block's
  // small values round to multiples of it; the worst of them is 0.382 off (computed by hand from
  // the formula of kernels/quant.h).
  const double plain = largest_rounding_error(DType::Q8_0, x, false);
  EXPECT_GT(plain, 0.3);
  // Rotated: every value of R x is at most ||x||₁/sqrt(64) in magnitude, so each block's step
  // is at most that / 127 (times 1 + 2⁻¹¹ for the f16 scale) and each rotated value is off by
  // at most half a step; Rᵀ (entries ±1/8) sums 64 such errors into a channel: at most 8 of them.
  const double step = l1 / 8 / 127 * (1 + 1.0 / 2048);
  const double rotated = largest_rounding_error(DType::Q8_0, x, true);
  EXPECT_LE(rotated, 8 * step / 2 + 64 * kEps * l1);  // + the float sums of R x and Rᵀ y
  // The bound (≈ 0.55) only just beats the plain error; the errors do not align, and this case
  // is 0.072 off: a fifth.
  EXPECT_LT(rotated, plain / 2);
}

}  // namespace
}  // namespace kvwb::kernels
