// quantize_row for the KV cache's dtypes against a double-precision reference of each rounding
// rule (kernels/quant.h), and the name table of kernels/kv_dtype.h. The reference works in
// exact arithmetic: f16 / bf16 round to the nearest value of their grid (ties to even), q8_0 and
// q4_0 choose the scale the format prescribes and then the nearest code (ties away from zero).
// The kernel divides in f32, so where x / d lies within 1e-5 of a tie either neighbour is
// accepted (the exactness rule of docs/architecture.md, applied to codes); everywhere else the stored value
// must equal the reference exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/quant_fast.h"
#include "kernels/half.h"
#include "kernels/kv_dtype.h"
#include "kernels/quant.h"

namespace kvwb::kernels {
namespace {

// Round x to the grid spacing 2^(e - mant_bits) of its binade, ties to even; exponents below
// min_exp use min_exp's spacing (subnormals).
double round_to_grid(double x, int mant_bits, int min_exp) {
  if (x == 0.0) return 0.0;
  int e = static_cast<int>(std::floor(std::log2(std::fabs(x))));
  if (e < min_exp) e = min_exp;
  const double ulp = std::ldexp(1.0, e - mant_bits);
  return std::nearbyint(x / ulp) * ulp;  // the default rounding mode: to nearest, ties to even
}

double ref_f16(double x) { return std::clamp(round_to_grid(x, 10, -14), -65504.0, 65504.0); }
double ref_bf16(double x) { return round_to_grid(x, 7, -126); }

// A block code: the nearest integer to x / d (ties away), clamped; `tie` says x / d is within
// 1e-5 of a half-integer, where the f32 quotient may round either way.
struct Code {
  double q;
  bool tie;
};
Code ref_code(double x, double d, double lo, double hi) {
  if (d == 0.0) return {0.0, false};
  const double r = x / d;
  const double frac = std::fabs(r - std::trunc(r));
  return {std::clamp(std::round(r), lo, hi), std::fabs(frac - 0.5) < 1e-5};
}

// Expected values of a row rounded to `dtype`, and per value whether a tie allows d·(q ± 1).
struct Expected {
  std::vector<double> value;
  std::vector<double> step;  // |alternative - value| allowed at a tie, 0 elsewhere
};

Expected reference(DType dtype, const std::vector<float>& x) {
  Expected e;
  for (size_t b = 0; b < x.size(); b += 32) {
    double d = 0.0;
    if (dtype == DType::Q8_0 || dtype == DType::Q4_0) {
      double amax = 0.0, m = 0.0;
      for (size_t i = b; i < b + 32; ++i) {  // the first value of largest magnitude
        if (std::fabs(x[i]) > amax) {
          amax = std::fabs(x[i]);
          m = x[i];
        }
      }
      // The format stores the scale as f16: the code is chosen against that stored scale.
      const double raw = dtype == DType::Q8_0 ? amax / 127.0 : m / -8.0;
      d = f16_to_f32(f32_to_f16(static_cast<float>(raw)));
    }
    for (size_t i = b; i < b + 32 && i < x.size(); ++i) {
      Code c{x[i], false};  // f32: stored as is
      if (dtype == DType::F16) c.q = ref_f16(x[i]);
      if (dtype == DType::BF16) c.q = ref_bf16(x[i]);
      if (dtype == DType::Q8_0) c = ref_code(x[i], d, -127, 127);
      if (dtype == DType::Q4_0) c = ref_code(x[i], d, -8, 7);
      const bool blocks = dtype == DType::Q8_0 || dtype == DType::Q4_0;
      e.value.push_back(blocks ? d * c.q : c.q);
      e.step.push_back(c.tie ? std::fabs(d) : 0.0);
    }
  }
  return e;
}

// Rows that exercise every rule: several magnitudes per block, zeros, a block of zeros, exact
// ties of q8_0, values near the f16 limit and below its normal range.
std::vector<float> test_row(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<float> x(32 * 12);
  const float magnitudes[] = {1.0f, 3.0f, 0.01f, 1e-5f, 70000.0f, 250.0f};
  for (size_t b = 0; b < 12; ++b) {
    for (size_t i = 0; i < 32; ++i) x[b * 32 + i] = unit(rng) * magnitudes[b % 6];
  }
  for (size_t i = 0; i < 32; ++i) x[6 * 32 + i] = 0.0f;           // a zero block
  x[7 * 32 + 3] = 0.0f;                                           // a zero inside a block
  // Exact ties of q8_0: amax 127 gives d = 1, and the others are k + 0.5.
  for (size_t i = 0; i < 32; ++i) x[8 * 32 + i] = static_cast<float>(static_cast<int>(i) - 16) + 0.5f;
  x[8 * 32] = 127.0f;
  x[9 * 32 + 0] = 65520.0f;                                       // rounds to f16 infinity without saturation
  return x;
}

class KvDtypeRounding : public ::testing::TestWithParam<DType> {};

TEST_P(KvDtypeRounding, RoundTripMatchesTheDoubleReference) {
  const DType dtype = GetParam();
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<float> x = test_row(seed);
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> stored(kv_row_bytes(dtype, n));
    quantize_row(dtype, x.data(), stored.data(), n);
    std::vector<float> back(x.size());
    dequantize_row(dtype, stored.data(), back.data(), n);
    const Expected e = reference(dtype, x);
    int reported = 0;
    for (size_t i = 0; i < x.size() && reported < 5; ++i) {
      const double got = back[i], want = e.value[i];
      const bool ok = got == want || (e.step[i] > 0 && std::fabs(std::fabs(got - want) - e.step[i]) <= 1e-12 * e.step[i]);
      if (!ok) {
        ADD_FAILURE() << dtype_info(dtype).name << " seed " << seed << " value " << i << ": " << x[i] << " stored as "
                      << got << ", expected " << want;
        ++reported;
      }
    }
  }
}

TEST_P(KvDtypeRounding, ValuesAreNeverInfinite) {
  // Saturation: a large key stays finite (f16 clamps at 65504; block scales are f16 too).
  const DType dtype = GetParam();
  std::vector<float> x(32, 1.0f);
  x[5] = 1e6f;
  std::vector<uint8_t> stored(kv_row_bytes(dtype, 32));
  quantize_row(dtype, x.data(), stored.data(), 32);
  std::vector<float> back(32);
  dequantize_row(dtype, stored.data(), back.data(), 32);
  for (float v : back) EXPECT_TRUE(std::isfinite(v)) << dtype_info(dtype).name;
}

INSTANTIATE_TEST_SUITE_P(Types, KvDtypeRounding, ::testing::ValuesIn(kKvDTypes),
                         [](const auto& info) { return std::string(dtype_info(info.param).name); });

TEST(KvDtypeRounding, Q4_0UsesTheOffsetNibbleLayoutOfGguf) {
  // Hand-made block: the largest magnitude is -4 at index 0, so d = -4 / -8 = 0.5 and code
  // q = round(x / 0.5) is stored as q + 8; value i in the low nibble of byte i, value i + 16 in
  // the high nibble.
  std::vector<float> x(32, 0.0f);
  x[0] = -4.0f;   // q = -8 -> nibble 0
  x[1] = 1.0f;    // q = 2 -> 10
  x[16] = 3.5f;   // q = 7 -> 15
  x[17] = -0.75f; // q = -1.5 -> rounds away to -2 -> 6
  BlockQ4_0 b{};
  quantize_row(DType::Q4_0, x.data(), &b, 32);
  EXPECT_EQ(f16_to_f32(b.d), 0.5f);
  EXPECT_EQ(b.qs[0], 0x00 | (15 << 4));
  EXPECT_EQ(b.qs[1], 10 | (6 << 4));
  EXPECT_EQ(b.qs[2], 8 | (8 << 4));  // zeros
}

TEST(KvDtypeRounding, Q8_0ScaleIsTheF16OfAmaxOver127) {
  std::vector<float> x(32, 0.0f);
  x[3] = 127.0f;  // d = 1 exactly
  x[4] = -2.5f;   // ties away from zero: -3
  x[5] = 2.49f;
  BlockQ8_0 b{};
  quantize_row(DType::Q8_0, x.data(), &b, 32);
  EXPECT_EQ(f16_to_f32(b.d), 1.0f);
  EXPECT_EQ(b.qs[3], 127);
  EXPECT_EQ(b.qs[4], -3);
  EXPECT_EQ(b.qs[5], 2);
}

TEST(KvDtypeRounding, FastWideningOfHalvesEqualsTheReference) {
  // The attention kernel widens f16 / bf16 blocks with cpu::dequantize_row_fast: exact, so it
  // must give the reference's bits (odd length: the vector loop and its scalar tail).
  const std::vector<float> x = test_row(4);
  for (DType dtype : {DType::F16, DType::BF16}) {
    const int64_t n = static_cast<int64_t>(x.size()) - 3;
    std::vector<uint8_t> stored(kv_row_bytes(dtype, n));
    quantize_row(dtype, x.data(), stored.data(), n);
    std::vector<float> ref(static_cast<size_t>(n)), fast(static_cast<size_t>(n));
    dequantize_row(dtype, stored.data(), ref.data(), n);
    cpu::dequantize_row_fast(dtype, stored.data(), fast.data(), n);
    EXPECT_EQ(std::memcmp(ref.data(), fast.data(), ref.size() * sizeof(float)), 0) << dtype_info(dtype).name;
  }
}

TEST(KvDtypeRounding, OtherTypesAndPartialBlocksAreRejected) {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> out(512);
  EXPECT_THROW(quantize_row(DType::Q4_K, x.data(), out.data(), 64), std::invalid_argument);
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), out.data(), 36), std::invalid_argument);
}

TEST(KvDtypeNames, EveryKvDtypeRoundTripsThroughItsName) {
  EXPECT_EQ(kv_dtype_names(), "f32, f16, bf16, q8_0, q4_0");
  for (DType t : kKvDTypes) EXPECT_EQ(kv_dtype_from_name(kv_dtype_name(t)), t);
  EXPECT_FALSE(kv_dtype_from_name("q4_1").has_value());  // a weight type, not a KV type
  EXPECT_FALSE(kv_dtype_from_name("F16").has_value());
  EXPECT_FALSE(is_kv_dtype(DType::Q6_K));
}

TEST(KvDtypeNames, HeadDimMustHoldWholeBlocks) {
  EXPECT_EQ(kv_dtype_problem(DType::F16, 36), "");
  EXPECT_EQ(kv_dtype_problem(DType::Q8_0, 64), "");
  EXPECT_EQ(kv_dtype_problem(DType::Q4_0, 36),
            "q4_0 stores blocks of 32 values along head_dim, which must be a multiple of 32; it is 36");
  EXPECT_NE(kv_dtype_problem(DType::Q4_1, 64).find("not a KV cache dtype"), std::string::npos);
}

}  // namespace
}  // namespace kvwb::kernels
