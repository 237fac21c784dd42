// Run-time choice of the CPU kernels' instruction set (kernels/cpu/isa.h): KVWB_CPU_ISA values
// are checked, and on every instruction set this CPU has, the matmul paths (decode rows, the
// sgemm tiles, the weights cache) and the dequantization match their references: the matmul a
// double reference over the reference dequantization within the rounding bound of its f32 sums
// (f32_sum_error_bound), the dequantization the reference bit for bit. (ctest also runs this
// whole binary under KVWB_CPU_ISA=portable, avx2 and avx512: tests/CMakeLists.txt.)
#include <gtest/gtest.h>

#include <stdexcept>
#include <optional>
#include <string>

#include "kernels/backend.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/cpu/weights_cache.h"
#include "kernels/kv_dtype.h"
#include "kernels/quant.h"
#include "tests/kernels/isa_test_util.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/quant_test_util.h"

namespace kvwb::kernels {
namespace {

using cpu::Isa;

std::string error_of(std::string_view value) {
  try {
    cpu::parse_isa(value);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(CpuIsa, ValuesAreCheckedWithAOneLineError) {
  EXPECT_EQ(cpu::parse_isa("portable"), Isa::Portable);
  EXPECT_EQ(error_of("sse9"), "KVWB_CPU_ISA: unknown value 'sse9' (expected portable, avx2 or avx512)");
  EXPECT_EQ(error_of("AVX2"), "KVWB_CPU_ISA: unknown value 'AVX2' (expected portable, avx2 or avx512)");
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    std::string missing;
    if (cpu::cpu_has(isa, &missing)) {
      EXPECT_EQ(cpu::parse_isa(cpu::isa_name(isa)), isa);
    } else {
      EXPECT_EQ(error_of(cpu::isa_name(isa)), "KVWB_CPU_ISA=" + std::string(cpu::isa_name(isa)) + ": this CPU lacks " + missing);
    }
  }
}

TEST(CpuIsa, AvailableSetsStartWithPortableAndNest) {
  const std::vector<Isa> isas = cpu::available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::Portable);
  // avx512 implies avx2: the list is a prefix of portable, avx2, avx512.
  for (size_t i = 0; i < isas.size(); ++i) EXPECT_EQ(static_cast<size_t>(isas[i]), i);
}

// Runs the test body with one instruction set active, and restores the previous one.
class OnIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!cpu::cpu_has(GetParam())) GTEST_SKIP() << "this CPU lacks " << cpu::isa_name(GetParam());
    isa_.emplace(GetParam());
  }

 private:
  std::optional<test::ScopedIsa> isa_;
};

std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) { return std::string(cpu::isa_name(info.param)); }

TEST_P(OnIsa, MatmulOnEveryDtypeMatchesTheDoubleReference) {
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q6_K};
  for (DType dtype : dtypes) {
    const int64_t cols = dtype_info(dtype).block_elems == 256 ? 512 : 96, rows = 45;
    const test::AnyWeight w = test::random_weight(dtype, rows, cols, 31);
    const std::vector<float> bias = test::random_floats(static_cast<size_t>(rows), 33);
    for (size_t cache_bytes : {size_t{0}, kDefaultWeightsCacheBytes}) {
      auto backend = make_cpu_backend(2, cache_bytes);
      const Matrix uploaded = backend->upload(w.view);
      for (int64_t n : {1, 3, 8, 9, 13, 16, 17, 40}) {
        const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 32 + static_cast<uint32_t>(n));
        std::vector<float> y(static_cast<size_t>(n * rows), NAN);
        backend->matmul(x.data(), n, uploaded, bias.data(), y.data());
        test::expect_matmul_matches(y, w.values, x, bias, n, rows, cols,
                                    std::string(dtype_info(dtype).name) + " n " + std::to_string(n) + " cache " +
                                        std::to_string(cache_bytes));
      }
    }
  }
}

TEST_P(OnIsa, DequantizationIsTheReferenceBitForBit) {
  for (DType dtype : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q6_K, DType::F16, DType::BF16}) {
    const int64_t cols = 512, rows = 3;
    const test::AnyWeight w = test::random_weight(dtype, rows, cols, 41);
    std::vector<float> got(static_cast<size_t>(rows * cols), NAN);
    cpu::matrix_rows_to_f32(w.view, 0, rows, got.data());
    test::expect_close(got, w.values, 0.0, 0.0, std::string(dtype_info(dtype).name));
  }
}

// A KV row in each KV dtype (rounded by quantize_row, as kv_write stores it) widens as
// dequantize_row widens it, bit for bit: 32 blocks of 32 values, and for the plain dtypes a
// length that leaves a tail after the eight-lane loop.
TEST_P(OnIsa, KvRowWideningIsTheReferenceBitForBit) {
  for (DType dtype : kKvDTypes) {
    for (int64_t n : {int64_t{1024}, int64_t{1024 + 13}}) {
      if (n % dtype_info(dtype).block_elems != 0) continue;
      const std::vector<float> values = test::random_floats(static_cast<size_t>(n), 43, -3.0f, 3.0f);
      std::vector<uint8_t> row(kv_row_bytes(dtype, n));
      quantize_row(dtype, values.data(), row.data(), n);
      std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n), NAN);
      dequantize_row(dtype, row.data(), ref.data(), n);
      cpu::dequantize_row_fast(dtype, row.data(), got.data(), n);
      test::expect_close(got, ref, 0.0, 0.0, std::string(kv_dtype_name(dtype)) + " n " + std::to_string(n));
    }
  }
}

// The weights cache copies weights only where their conversion is scalar: the portable pass.
TEST_P(OnIsa, WeightsCacheCopiesOnlyOnThePortablePass) {
  EXPECT_FALSE(cpu::worth_caching(DType::F32));
  for (DType dtype : {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q6_K}) {
    EXPECT_EQ(cpu::worth_caching(dtype), GetParam() == Isa::Portable) << dtype_info(dtype).name;
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, OnIsa, ::testing::Values(Isa::Portable, Isa::Avx2, Isa::Avx512), isa_param_name);

}  // namespace
}  // namespace kvwb::kernels
