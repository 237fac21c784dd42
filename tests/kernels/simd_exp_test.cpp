// The AVX2 exp of the CPU kernels (kernels/cpu/simd.h exp8) against exp in double, in each AVX
// pass the kernels are compiled in (isa_pass.h) that this CPU can run: within kExpRelError on
// a dense grid of its range, and the edges: the top of the range, where 2^n needs n = 128
// (these lanes were +inf before, though exp is finite there), overflow, underflow and
// infinities. This file is compiled like a kernel file: exp8_of once per pass, the tests once.
#ifndef KVWB_ISA_PASS
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/isa.h"
#include "tests/kernels/kernel_test_util.h"

#define KVWB_ISA_FILE "tests/kernels/simd_exp_test.cpp"
#include "kernels/cpu/isa_pass.h"

namespace kvwb::kernels::cpu {
namespace {

using Exp8Of = std::vector<float> (*)(std::vector<float>);

// The AVX passes' exp8_of that this CPU can run, with their instruction sets.
std::vector<std::pair<Isa, Exp8Of>> runnable_exp8() {
  std::vector<std::pair<Isa, Exp8Of>> out;
#if defined(__x86_64__)
  if (cpu_has(Isa::Avx2)) out.emplace_back(Isa::Avx2, &isa_avx2::exp8_of);
  if (cpu_has(Isa::Avx512)) out.emplace_back(Isa::Avx512, &isa_avx512::exp8_of);
#endif
  return out;
}

TEST(SimdExp, WithinTheStatedRelativeErrorAndFiniteUpToTheLargestFiniteResult) {
  const auto passes = runnable_exp8();
  if (passes.empty()) GTEST_SKIP() << "this CPU lacks AVX2: the kernels use std::exp";
  std::vector<float> x;
  for (int i = 0; i <= 200000; ++i) x.push_back(-87.3f + static_cast<float>(i) * (88.72f + 87.3f) / 200000.0f);
  for (float v : {88.3762665f, 88.5f, 88.7f, 88.7228317f, -87.29f, -1e-30f, 0.0f, 1e-30f}) x.push_back(v);
  for (const auto& [isa, exp8_of] : passes) {
    const std::vector<float> got = exp8_of(x);
    int reported = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = std::exp(static_cast<double>(x[i]));
      if (!(std::fabs(got[i] - ref) <= test::kExpRelError * ref) && ++reported <= 5) {
        ADD_FAILURE() << isa_name(isa) << " exp8(" << x[i] << ") = " << got[i] << ", exp = " << ref;
      }
    }
  }
}

TEST(SimdExp, OverflowUnderflowAndInfinities) {
  const auto passes = runnable_exp8();
  if (passes.empty()) GTEST_SKIP() << "this CPU lacks AVX2: the kernels use std::exp";
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto& [isa, exp8_of] : passes) {
    SCOPED_TRACE(std::string(isa_name(isa)));
    const std::vector<float> got = exp8_of({88.7228394f, 100.0f, inf, -87.4f, -1000.0f, -inf});
    EXPECT_EQ(got[0], inf) << "exp(88.7228394) > FLT_MAX";
    EXPECT_EQ(got[1], inf);
    EXPECT_EQ(got[2], inf);
    EXPECT_EQ(got[3], 0.0f) << "below -87.3 the result would be denormal: flushed to 0";
    EXPECT_EQ(got[4], 0.0f);
    EXPECT_EQ(got[5], 0.0f);
  }
}

}  // namespace
}  // namespace kvwb::kernels::cpu

#else  // one ISA pass

#if KVWB_CPU_AVX2
namespace kvwb::kernels::cpu::KVWB_ISA_NS {

// exp8 of this pass over x, eight lanes at a time (x padded with zeros to a multiple of 8).
std::vector<float> exp8_of(std::vector<float> x) {
  x.resize((x.size() + 7) / 8 * 8, 0.0f);
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); i += 8) _mm256_storeu_ps(&out[i], exp8(_mm256_loadu_ps(&x[i])));
  return out;
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS
#endif

#endif  // KVWB_ISA_PASS
