// The CPU matmul and embedding on block-quantized weights against a double-precision
// reference over the reference dequantization (kernels/quant.h) of the same random blocks:
// the row path (n <= 8) and the tiled sgemm path, bias, odd row counts, 1 and 2 threads; and
// the fused dot products from packed bytes (kernels/cpu/quant_dot.h), AVX2 and portable.
// Tolerance: the f32 dot-product bound gamma(cols + 4)·Σ_c mag_c·|x_c| (kernel_test_util.h) with
// mag_c = |w_c| + 2|m| (m: the block's min, Q4_1 only). The fused dots compute d·Σq·x + m·Σx,
// whose terms are bounded by |d·q| + |m| <= |w| + 2|m|; the four extra roundings are the scale
// multiplies, the reference's own rounding of d·q (+ m) and the bias add.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/backend.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/half.h"
#include "kernels/quant.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/quant_test_util.h"

namespace kvwb::kernels {
namespace {

using test::QuantMatrix;
using test::random_quant_matrix;

// mag_c of the header comment for every element of the matrix.
std::vector<double> term_magnitudes(DType dtype, const QuantMatrix& w) {
  std::vector<double> mag(w.values.size());
  const DTypeInfo info = dtype_info(dtype);
  for (size_t i = 0; i < mag.size(); ++i) {
    mag[i] = std::fabs(double{w.values[i]});
    if (dtype == DType::Q4_1) {
      uint16_t m;
      std::memcpy(&m, w.bytes.data() + (i / static_cast<size_t>(info.block_elems)) * static_cast<size_t>(info.block_bytes) + 2, 2);
      mag[i] += 2 * std::fabs(double{f16_to_f32(m)});
    }
  }
  return mag;
}

// The bound on |y - Σ_c w_c·x_c| for one weight row against one input of `cols` values.
double dot_bound(const double* mag, const float* x, int64_t cols, double bias) {
  return test::gamma_f32(static_cast<double>(cols) + 4) * (test::abs_dot(mag, x, cols) + std::fabs(bias));
}

using Case = std::tuple<DType, int64_t /*n*/, int /*threads*/>;
class QuantMatmul : public ::testing::TestWithParam<Case> {};

TEST_P(QuantMatmul, MatchesDoubleReference) {
  const auto [dtype, n, threads] = GetParam();
  const int64_t cols = dtype_info(dtype).block_elems == 256 ? 512 : 96;
  const int64_t rows = 37;
  const QuantMatrix w = random_quant_matrix(dtype, rows, cols, 5);
  const std::vector<double> mag = term_magnitudes(dtype, w);
  const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 6);
  const std::vector<float> bias = test::random_floats(static_cast<size_t>(rows), 7);
  auto backend = make_cpu_backend(threads);
  for (bool with_bias : {false, true}) {
    std::vector<float> y(static_cast<size_t>(n * rows), NAN);
    backend->matmul(x.data(), n, w.view(dtype, rows, cols), with_bias ? bias.data() : nullptr, y.data());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t r = 0; r < rows; ++r) {
        double ref = with_bias ? bias[r] : 0.0;
        for (int64_t c = 0; c < cols; ++c) ref += double{w.values[r * cols + c]} * x[i * cols + c];
        const double got = y[i * rows + r];
        ASSERT_NEAR(got, ref, dot_bound(&mag[r * cols], &x[i * cols], cols, with_bias ? bias[r] : 0.0))
            << "row " << r << " input " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    BlockTypes, QuantMatmul,
    ::testing::Combine(::testing::Values(DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q6_K),
                       ::testing::Values(1, 3, 5, 8, 9, 40), ::testing::Values(1, 2)),
    [](const auto& info) {
      return std::string(dtype_info(std::get<0>(info.param)).name) + "_n" + std::to_string(std::get<1>(info.param)) +
             "_t" + std::to_string(std::get<2>(info.param));
    });

// The fused dot of packed rows with 1-4 inputs against the double dot product with the
// reference dequantization, on row lengths of SmolLM2's matrices, within the bound above.
TEST(QuantDot, AvxAndPortableMatchTheDequantizedReference) {
  const std::pair<const char*, void (*)(const cpu::QuantDotArgs&)> kernels[] = {
      {"dispatch", cpu::quant_dot_rows}, {"portable", cpu::quant_dot_rows_portable}};
  const int64_t rows = 5;
  for (DType dtype : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    for (int64_t cols : {32, 576, 1536}) {
      const int64_t blocks = cols / 32;
      const QuantMatrix w = random_quant_matrix(dtype, rows, cols, 21);
      const std::vector<double> mag = term_magnitudes(dtype, w);
      const std::vector<float> x = test::random_floats(static_cast<size_t>(cpu::kMaxDotInputs * cols), 22);
      std::vector<float> sums(static_cast<size_t>(cpu::kMaxDotInputs * blocks));
      for (int j = 0; j < cpu::kMaxDotInputs; ++j) cpu::block_sums(x.data() + j * cols, cols, sums.data() + j * blocks);
      for (const auto& [name, dot] : kernels) {
        for (int count = 1; count <= cpu::kMaxDotInputs; ++count) {
          std::vector<float> y(static_cast<size_t>(count * rows), NAN);
          cpu::QuantDotArgs a;
          a.dtype = dtype;
          a.rows = w.bytes.data();
          a.row_count = rows;
          a.cols = cols;
          a.x = x.data();
          a.x_stride = cols;
          a.count = count;
          a.sums = sums.data();
          a.sums_stride = blocks;
          a.y = y.data();
          a.y_stride = rows;
          dot(a);
          for (int j = 0; j < count; ++j) {
            for (int64_t r = 0; r < rows; ++r) {
              double ref = 0;
              for (int64_t c = 0; c < cols; ++c) ref += double{w.values[r * cols + c]} * x[j * cols + c];
              EXPECT_NEAR(y[j * rows + r], ref, dot_bound(&mag[r * cols], &x[j * cols], cols, 0.0)) << name << " " << dtype_info(dtype).name << " cols "
                                                                 << cols << " inputs " << count << " input " << j
                                                                 << " row " << r;
            }
          }
        }
      }
    }
  }
}

TEST(QuantDot, RejectsWhatItDoesNotHandle) {
  const std::vector<uint8_t> row(210);
  const std::vector<float> x(256);
  float out[cpu::kMaxDotInputs];
  auto args = [&](DType dtype, int64_t cols, int count) {
    cpu::QuantDotArgs a;
    a.dtype = dtype;
    a.rows = row.data();
    a.row_count = 1;
    a.cols = cols;
    a.x = x.data();
    a.x_stride = cols;
    a.count = count;
    a.y = out;
    a.y_stride = 1;
    return a;
  };
  EXPECT_THROW(cpu::quant_dot_rows(args(DType::Q6_K, 256, 1)), std::invalid_argument);
  EXPECT_THROW(cpu::quant_dot_rows(args(DType::Q8_0, 48, 1)), std::invalid_argument);
  EXPECT_THROW(cpu::quant_dot_rows(args(DType::Q8_0, 32, 0)), std::invalid_argument);
  EXPECT_THROW(cpu::quant_dot_rows_portable(args(DType::Q4_1, 32, 5)), std::invalid_argument);
}

TEST(QuantEmbedding, RowsAreTheDequantizedTableRows) {
  for (DType dtype : {DType::Q8_0, DType::Q4_1, DType::Q6_K}) {
    const int64_t cols = dtype_info(dtype).block_elems == 256 ? 256 : 64, rows = 11;
    const QuantMatrix table = random_quant_matrix(dtype, rows, cols, 9);
    const std::vector<int32_t> ids{3, 0, 10, 3};
    std::vector<float> out(ids.size() * static_cast<size_t>(cols));
    make_cpu_backend(2)->embedding(table.view(dtype, rows, cols), ids.data(), static_cast<int64_t>(ids.size()),
                                   out.data());
    for (size_t i = 0; i < ids.size(); ++i) {
      for (int64_t c = 0; c < cols; ++c) {
        ASSERT_EQ(out[i * cols + c], table.values[ids[i] * cols + c]) << dtype_info(dtype).name << " id " << ids[i];
      }
    }
  }
}

}  // namespace
}  // namespace kvwb::kernels
