// CPU matmul against a double-precision reference that widens the same stored f16/bf16 values.
// Covers the matvec path (n <= 8 for f32, <= 12 for f16/bf16), the tiled sgemm path (larger n,
// several tiles), odd shapes (cols not a multiple of 8 or 32, a single row), bias, 1 and 2
// threads. Tolerance: the f32 dot-product bound gamma(cols + 1)·(Σ|x·w| + |bias|) per output
// (kernel_test_util.h; widening f16/bf16 to f32 is exact, the bias add is the extra rounding).
#include <gtest/gtest.h>

#include <stdexcept>
#include <tuple>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace kvwb::kernels {
namespace {

using test::make_matrix;
using test::random_floats;

struct Reference {
  std::vector<double> y, bound;  // [n, rows]
};

Reference reference_matmul(const std::vector<float>& x, int64_t n, const test::StoredMatrix& w,
                           const std::vector<float>* bias) {
  Reference ref;
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = &x[static_cast<size_t>(i * w.cols)];
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* wr = &w.values[static_cast<size_t>(r * w.cols)];
      const double b = bias != nullptr ? (*bias)[static_cast<size_t>(r)] : 0.0;
      double acc = b;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(xi[c]) * wr[c];
      ref.y.push_back(acc);
      ref.bound.push_back(test::gamma_f32(static_cast<double>(w.cols) + 1) * (test::abs_dot(xi, wr, w.cols) + std::fabs(b)));
    }
  }
  return ref;
}

struct Shape {
  int64_t rows, cols;
};

// dtype, n, shape, bias, threads
using MatmulCase = std::tuple<DType, int64_t, Shape, bool, int>;

class CpuMatmul : public ::testing::TestWithParam<MatmulCase> {};

TEST_P(CpuMatmul, MatchesReference) {
  const auto [dtype, n, shape, with_bias, threads] = GetParam();
  auto backend = make_cpu_backend(threads);
  const auto w = make_matrix(dtype, shape.rows, shape.cols, 11 + static_cast<uint32_t>(shape.rows));
  const auto x = random_floats(static_cast<size_t>(n * shape.cols), 5 + static_cast<uint32_t>(n));
  const auto bias = random_floats(static_cast<size_t>(shape.rows), 9);
  std::vector<float> y(static_cast<size_t>(n * shape.rows), -999.0f);
  backend->matmul(x.data(), n, w.view(), with_bias ? bias.data() : nullptr, y.data());
  const Reference ref = reference_matmul(x, n, w, with_bias ? &bias : nullptr);
  test::expect_within(y, ref.y, ref.bound, "y");
}

std::string case_name(const ::testing::TestParamInfo<MatmulCase>& info) {
  const auto [dtype, n, shape, bias, threads] = info.param;
  return std::string(dtype_info(dtype).name) + "_n" + std::to_string(n) + "_" + std::to_string(shape.rows) + "x" +
         std::to_string(shape.cols) + (bias ? "_bias" : "") + "_t" + std::to_string(threads);
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, CpuMatmul,
    ::testing::Combine(::testing::Values(DType::F32, DType::F16, DType::BF16), ::testing::Values(1, 3, 8, 9, 12, 13, 30),
                       ::testing::Values(Shape{33, 67}, Shape{1, 8}, Shape{7, 16}, Shape{130, 300}),
                       ::testing::Bool(), ::testing::Values(1, 2)),
    case_name);

// Enough rows for several sgemm tiles and parallel matvec strips.
INSTANTIATE_TEST_SUITE_P(ManyTiles, CpuMatmul,
                         ::testing::Combine(::testing::Values(DType::F32, DType::F16, DType::BF16),
                                            ::testing::Values(1, 2, 9, 40), ::testing::Values(Shape{1100, 67}),
                                            ::testing::Values(true), ::testing::Values(2)),
                         case_name);

// Quantized weights are supported (tests/kernels/quant_matmul_test.cpp); a row that is not a
// whole number of blocks is rejected with the type's name.
TEST(CpuMatmulErrors, QuantizedRowsOfPartialBlocksAreRejectedWithTheirName) {
  auto backend = make_cpu_backend(1);
  std::vector<uint8_t> blob(2 * 20);
  const Matrix w{DType::Q4_1, 2, 48, blob.data()};
  std::vector<float> x(48), y(2);
  try {
    backend->matmul(x.data(), 1, w, nullptr, y.data());
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "matmul: q4_1 rows of 48 values are not whole blocks of 32");
  }
}

TEST(CpuMatmulErrors, EmptyInputDimensionGivesTheBias) {
  auto backend = make_cpu_backend(1);
  const std::vector<float> bias{1.0f, -2.0f, 0.5f};
  std::vector<float> y(6, 7.0f);
  backend->matmul(nullptr, 2, Matrix{DType::F32, 3, 0, nullptr}, bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1.0f, -2.0f, 0.5f, 1.0f, -2.0f, 0.5f}));
}

TEST(CpuMatmulErrors, MissingWeightDataIsAnError) {
  auto backend = make_cpu_backend(1);
  std::vector<float> x(4), y(2);
  EXPECT_THROW(backend->matmul(x.data(), 1, Matrix{DType::F16, 2, 4, nullptr}, nullptr, y.data()), std::runtime_error);
}

}  // namespace
}  // namespace kvwb::kernels
