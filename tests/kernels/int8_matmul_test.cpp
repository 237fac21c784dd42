// `--matmul fast` (kernels/cpu/int8_dot.h) on every instruction set this CPU has:
//   * the activation quantization: |x − q·d| <= d·(1/2 + 256u), |q| <= 127, s = d·Σq;
//   * int8_dot_rows against a double reference on the SAME integers: the integer sums are
//     exact, so only f32 scale products and sums round. Each term d_w·d_x·Σ_lane qw·qx (or
//     m_w·s) is rounded at most three times (d_w·d_x, the product, the add) and added in a
//     chain of at most 2·blocks terms (Q4_1: a d term and an m term per block; the vector paths
//     add 8 lanes and a horizontal sum of 3 more), so |error| <= γ(2·blocks + 8)·T with
//     T = Σ_b |d_w·d_x|·Σ_i |qw_i·qx_i| + |m_w·s_b|, which bounds every partial sum's magnitude;
//   * the fast matmul against the exact product with the f32 weights (double reference): the
//     inputs moved by at most d_b·(1/2 + 256u) each, so the dot moved by at most
//     Σ_b d_b·(1/2 + 256u)·Σ_{i in b} |w_i|·(1 + u) (u: the reference's own rounding of w), plus
//     the rounding above and the f32 reference's own rounding of w (u·Σ|w·x|) and of the bias;
//   * other weight types stay on the exact path bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "kernels/backend.h"
#include "kernels/cpu/int8_dot.h"
#include "kernels/cpu/isa.h"
#include "kernels/half.h"
#include "kernels/quant.h"
#include "tests/kernels/isa_test_util.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/quant_test_util.h"

namespace kvwb::kernels {
namespace {

using test::QuantMatrix;
using test::random_quant_matrix;

constexpr double kU = 0x1p-24;  // f32 unit roundoff

// One weight block's stored integers (Q4_0 with its 8 subtracted), scale and min.
struct WeightBlock {
  int q[32];
  double d = 0, m = 0;
};

WeightBlock weight_block(DType dtype, const uint8_t* p) {
  WeightBlock b;
  uint16_t h;
  std::memcpy(&h, p, 2);
  b.d = f16_to_f32(h);
  if (dtype == DType::Q8_0) {
    for (int i = 0; i < 32; ++i) b.q[i] = reinterpret_cast<const int8_t*>(p + 2)[i];
    return b;
  }
  const uint8_t* qs = p + (dtype == DType::Q4_1 ? 4 : 2);
  const int offset = dtype == DType::Q4_0 ? 8 : 0;
  for (int i = 0; i < 16; ++i) {
    b.q[i] = (qs[i] & 0xF) - offset;
    b.q[i + 16] = (qs[i] >> 4) - offset;
  }
  if (dtype == DType::Q4_1) {
    std::memcpy(&h, p + 2, 2);
    b.m = f16_to_f32(h);
  }
  return b;
}

// The value and magnitude T (header comment) of one weight row dotted with quantized input i.
struct Reference {
  double value = 0, magnitude = 0;
};

Reference same_integers_reference(DType dtype, const uint8_t* row, const cpu::Int8Rows& x, int64_t i) {
  const int64_t blocks = x.cols / 32;
  const size_t block_bytes = static_cast<size_t>(dtype_info(dtype).block_bytes);
  Reference ref;
  for (int64_t b = 0; b < blocks; ++b) {
    const WeightBlock w = weight_block(dtype, row + static_cast<size_t>(b) * block_bytes);
    int64_t sum = 0, abs_sum = 0;
    for (int k = 0; k < 32; ++k) {
      const int64_t p = int64_t{w.q[k]} * x.q[static_cast<size_t>(i * x.cols + 32 * b + k)];
      sum += p;
      abs_sum += p < 0 ? -p : p;
    }
    const double dd = w.d * x.d[static_cast<size_t>(i * blocks + b)];
    const double s = x.sum_at(i, b);
    ref.value += dd * static_cast<double>(sum) + w.m * s;
    ref.magnitude += std::fabs(dd) * static_cast<double>(abs_sum) + std::fabs(w.m * s);
  }
  return ref;
}

std::vector<DType> int8_types() { return {DType::Q8_0, DType::Q4_0, DType::Q4_1}; }

TEST(Int8Quantize, RoundsEachBlockToItsOwnScale) {
  const int64_t cols = 96, n = 3;
  std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 31, -3.0f, 3.0f);
  for (int64_t c = 32; c < 64; ++c) x[static_cast<size_t>(c)] = 0.0f;  // an all-zero block
  x[70] = -5.0f;                                                      // a block's amax, negative
  const cpu::Int8Rows q = cpu::quantize_rows_int8(x.data(), n, cols);
  ASSERT_EQ(q.q.size(), x.size());
  for (int64_t b = 0; b < n * cols / 32; ++b) {
    const double d = q.d[static_cast<size_t>(b)];
    int64_t sum = 0;
    for (int64_t k = 32 * b; k < 32 * b + 32; ++k) {
      const int v = q.q[static_cast<size_t>(k)];
      ASSERT_LE(std::abs(v), 127);
      EXPECT_LE(std::fabs(x[static_cast<size_t>(k)] - v * d), d * (0.5 + 256 * kU)) << "value " << k;
      sum += v;
    }
    EXPECT_EQ(q.sum_at(b / (cols / 32), b % (cols / 32)), static_cast<float>(q.d[static_cast<size_t>(b)] * static_cast<float>(sum)));
  }
  EXPECT_EQ(q.d[1], 0.0f);
  EXPECT_EQ(q.q[70], -127);
}

TEST(Int8Dot, EveryPassMatchesTheDoubleReferenceOnTheSameIntegers) {
  const int64_t rows = 5;
  for (cpu::Isa isa : cpu::available_isas()) {
    test::ScopedIsa on(isa);
    for (DType dtype : int8_types()) {
      for (int64_t cols : {32, 576, 1536}) {
        const QuantMatrix w = random_quant_matrix(dtype, rows, cols, 41);
        const std::vector<float> xf = test::random_floats(static_cast<size_t>(cpu::kMaxInt8Inputs * cols), 42);
        const cpu::Int8Rows x = cpu::quantize_rows_int8(xf.data(), cpu::kMaxInt8Inputs, cols);
        const size_t row_bytes = dtype_bytes(dtype, cols);
        for (int64_t first : {0, 1}) {
          for (int count = 1; first + count <= cpu::kMaxInt8Inputs; ++count) {
            std::vector<float> y(static_cast<size_t>(count * rows), NAN);
            cpu::Int8DotArgs a;
            a.dtype = dtype;
            a.rows = w.bytes.data();
            a.row_count = rows;
            a.x = &x;
            a.first = first;
            a.count = count;
            a.y = y.data();
            a.y_stride = rows;
            cpu::int8_dot_rows(a);
            for (int j = 0; j < count; ++j) {
              for (int64_t r = 0; r < rows; ++r) {
                const Reference ref = same_integers_reference(dtype, w.bytes.data() + r * row_bytes, x, first + j);
                EXPECT_NEAR(y[j * rows + r], ref.value, test::gamma_f32(2.0 * (cols / 32) + 8) * ref.magnitude)
                    << cpu::isa_name(isa) << " " << dtype_info(dtype).name << " cols " << cols << " input "
                    << first + j << " of " << count << " row " << r;
              }
            }
          }
        }
      }
    }
  }
}

TEST(Int8Dot, RejectsWhatItDoesNotHandle) {
  const std::vector<uint8_t> row(210);
  const std::vector<float> xf(256, 1.0f);
  const cpu::Int8Rows x256 = cpu::quantize_rows_int8(xf.data(), 1, 256);
  cpu::Int8Rows x48 = x256;
  x48.cols = 48;
  float out[cpu::kMaxInt8Inputs];
  auto args = [&](DType dtype, const cpu::Int8Rows& x, int count) {
    cpu::Int8DotArgs a;
    a.dtype = dtype;
    a.rows = row.data();
    a.row_count = 1;
    a.x = &x;
    a.count = count;
    a.y = out;
    a.y_stride = 1;
    return a;
  };
  EXPECT_THROW(cpu::int8_dot_rows(args(DType::Q6_K, x256, 1)), std::invalid_argument);
  EXPECT_THROW(cpu::int8_dot_rows(args(DType::Q8_0, x48, 1)), std::invalid_argument);
  EXPECT_THROW(cpu::int8_dot_rows(args(DType::Q8_0, x256, 0)), std::invalid_argument);
  EXPECT_THROW(cpu::int8_dot_rows(args(DType::Q4_1, x256, cpu::kMaxInt8Inputs + 1)), std::invalid_argument);
}

// The fast matmul through the backend (row chunks, threads, bias, n past kMaxInt8Inputs)
// against the exact product with the f32 dequantized weights, within the quantization bound.
TEST(FastMatmul, StaysWithinTheActivationQuantizationBoundOfTheExactProduct) {
  const int64_t rows = 37, cols = 576, blocks = cols / 32;
  for (cpu::Isa isa : cpu::available_isas()) {
    test::ScopedIsa on(isa);
    for (DType dtype : int8_types()) {
      const QuantMatrix w = random_quant_matrix(dtype, rows, cols, 51);
      const size_t row_bytes = dtype_bytes(dtype, cols);
      const std::vector<float> bias = test::random_floats(static_cast<size_t>(rows), 53);
      for (int64_t n : {1, 5, 40}) {
        const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 52, -2.0f, 2.0f);
        const cpu::Int8Rows xq = cpu::quantize_rows_int8(x.data(), n, cols);
        for (int threads : {1, 2}) {
          auto backend = make_cpu_backend(threads, 0, MatmulMode::fast);
          std::vector<float> y(static_cast<size_t>(n * rows), NAN);
          backend->matmul(x.data(), n, w.view(dtype, rows, cols), bias.data(), y.data());
          for (int64_t i = 0; i < n; ++i) {
            for (int64_t r = 0; r < rows; ++r) {
              const float* wr = &w.values[static_cast<size_t>(r * cols)];
              const float* xi = &x[static_cast<size_t>(i * cols)];
              double exact = bias[r], moved = 0;
              for (int64_t c = 0; c < cols; ++c) exact += double{wr[c]} * xi[c];
              for (int64_t b = 0; b < blocks; ++b) {
                double abs_w = 0;
                for (int64_t c = 32 * b; c < 32 * b + 32; ++c) abs_w += std::fabs(double{wr[c]});
                moved += xq.d[static_cast<size_t>(i * blocks + b)] * (0.5 + 256 * kU) * abs_w * (1 + kU);
              }
              const Reference same = same_integers_reference(dtype, w.bytes.data() + r * row_bytes, xq, i);
              const double bound = moved + test::gamma_f32(2.0 * blocks + 8) * same.magnitude +
                                   kU * (test::abs_dot(wr, xi, cols) + 2 * std::fabs(bias[r]));
              ASSERT_NEAR(y[static_cast<size_t>(i * rows + r)], exact, bound)
                  << cpu::isa_name(isa) << " " << dtype_info(dtype).name << " n " << n << " threads " << threads
                  << " input " << i << " row " << r;
            }
          }
        }
      }
    }
  }
}

// Fast mode takes the integer dots up to kInt8MatmulMaxN input rows and the exact path above:
// one row more than the limit gives exact mode's result bit for bit, the limit itself does not.
TEST(FastMatmul, LargeBatchesStayOnTheExactPath) {
  for (cpu::Isa isa : cpu::available_isas()) {
    test::ScopedIsa on(isa);
    for (DType dtype : int8_types()) {
      const int64_t rows = 21, cols = 128;
      const QuantMatrix w = random_quant_matrix(dtype, rows, cols, 71);
      for (int64_t n : {cpu::kInt8MatmulMaxN, cpu::kInt8MatmulMaxN + 1}) {
        const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 72, -2.0f, 2.0f);
        std::vector<float> exact(static_cast<size_t>(n * rows)), fast(exact.size());
        make_cpu_backend(2, 0, MatmulMode::exact)->matmul(x.data(), n, w.view(dtype, rows, cols), nullptr, exact.data());
        make_cpu_backend(2, 0, MatmulMode::fast)->matmul(x.data(), n, w.view(dtype, rows, cols), nullptr, fast.data());
        if (n > cpu::kInt8MatmulMaxN) EXPECT_EQ(exact, fast) << cpu::isa_name(isa) << " " << dtype_info(dtype).name;
        else EXPECT_NE(exact, fast) << cpu::isa_name(isa) << " " << dtype_info(dtype).name;
      }
    }
  }
}

// Types without an integer dot (here the K types and f16) give what exact mode gives, bit for bit.
TEST(FastMatmul, OtherWeightTypesStayExact) {
  for (cpu::Isa isa : cpu::available_isas()) {
    test::ScopedIsa on(isa);
    for (DType dtype : {DType::Q4_K, DType::Q6_K, DType::F16}) {
      const int64_t rows = 19, cols = 256, n = 20;
      const test::AnyWeight w = test::random_weight(dtype, rows, cols, 61);
      const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 62);
      std::vector<float> exact(static_cast<size_t>(n * rows)), fast(exact.size());
      make_cpu_backend(2, 0, MatmulMode::exact)->matmul(x.data(), n, w.view, nullptr, exact.data());
      make_cpu_backend(2, 0, MatmulMode::fast)->matmul(x.data(), n, w.view, nullptr, fast.data());
      EXPECT_EQ(exact, fast) << cpu::isa_name(isa) << " " << dtype_info(dtype).name;
    }
  }
}

}  // namespace
}  // namespace kvwb::kernels
