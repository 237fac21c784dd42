// matmul on the GPU (cuBLASLt, CUBLAS_COMPUTE_32F: products of f32, f16 or bf16 operands are
// exact in f32, sums in f32) against two expectations:
//  - a double-precision reference of exactly what the GPU is asked to compute (for 16-bit
//    weights the activations are first rounded to the weight dtype), within the f32 dot-product
//    bound of kernel_test_util.h with each addition allowed 2u, not u (tensor cores may
//    truncate rather than round when they add): |y - ref| <= gamma(2(cols + 2))·(Σ|x̃·w| + |b|);
//  - the CPU backend (f32 activations, its own bound gamma(cols + 1)·(Σ|x·w| + |b|)), within
//    both bounds plus the activation rounding u_a·Σ|x·w|, u_a = 2^-8 for bf16, 2^-11 for f16,
//    0 for f32.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "cuda_test_util.h"
#include "kernels/half.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvwb::kernels {
namespace {

using test::DeviceBuffer;

float narrow(float v, DType dtype) {
  if (dtype == DType::BF16) return bf16_to_f32(f32_to_bf16(v));
  if (dtype == DType::F16) return f16_to_f32(f32_to_f16(v));
  return v;
}

double unit_roundoff(DType dtype) {
  if (dtype == DType::BF16) return std::ldexp(1.0, -8);
  if (dtype == DType::F16) return std::ldexp(1.0, -11);
  return 0.0;
}

struct Case {
  DType dtype;
  int64_t n, rows, cols;
  bool bias;
};

void check(const Case& c, int64_t x_offset) {
  const auto w = test::make_matrix(c.dtype, c.rows, c.cols, 7);
  const auto x = test::random_floats(static_cast<size_t>(c.n * c.cols), 8, -2.0f, 2.0f);
  const auto bias = test::random_floats(static_cast<size_t>(c.rows), 9);
  const float* b = c.bias ? bias.data() : nullptr;

  std::vector<float> cpu(static_cast<size_t>(c.n * c.rows));
  test::cpu_backend().matmul(x.data(), c.n, w.view(), b, cpu.data());

  // x placed at an offset into its buffer: cuBLASLt must cope with less than 256-byte alignment.
  std::vector<float> padded(static_cast<size_t>(x_offset), 0.0f);
  padded.insert(padded.end(), x.begin(), x.end());
  DeviceBuffer dx = DeviceBuffer::from(padded), dy(cpu.size() * sizeof(float));
  DeviceBuffer dbias = DeviceBuffer::from(bias);
  const Matrix dw = test::cuda_backend().upload(w.view());
  test::cuda_backend().matmul(dx.as<float>() + x_offset, c.n, dw, c.bias ? dbias.as<float>() : nullptr,
                              dy.as<float>());
  const std::vector<float> gpu = dy.to_host<float>();
  test::cuda_backend().free(const_cast<void*>(dw.data));

  const std::string what = std::string(dtype_info(c.dtype).name) + " " + std::to_string(c.n) + "x" +
                           std::to_string(c.cols) + "·" + std::to_string(c.rows) + (c.bias ? "+bias" : "");
  int failures = 0;
  for (int64_t i = 0; i < c.n && failures < 5; ++i) {
    for (int64_t r = 0; r < c.rows && failures < 5; ++r) {
      const double b = c.bias ? bias[static_cast<size_t>(r)] : 0.0;
      double ref = b, mag = 0.0, mag_f32 = 0.0;  // mag: Σ|x̃·w|, mag_f32: Σ|x·w|
      for (int64_t k = 0; k < c.cols; ++k) {
        const double xv = narrow(x[static_cast<size_t>(i * c.cols + k)], c.dtype);
        const double wv = w.values[static_cast<size_t>(r * c.cols + k)];
        ref += xv * wv;
        mag += std::fabs(xv * wv);
        mag_f32 += std::fabs(x[static_cast<size_t>(i * c.cols + k)] * wv);
      }
      const double got = gpu[static_cast<size_t>(i * c.rows + r)];
      const double cols = static_cast<double>(c.cols);
      const double tol_ref = test::gamma_f32(2 * (cols + 2)) * (mag + std::fabs(b));
      const double tol_cpu =
          tol_ref + test::gamma_f32(cols + 1) * (mag_f32 + std::fabs(b)) + unit_roundoff(c.dtype) * mag_f32;
      const double cpu_v = cpu[static_cast<size_t>(i * c.rows + r)];
      if (!(std::fabs(got - ref) <= tol_ref) || !(std::fabs(got - cpu_v) <= tol_cpu)) {
        ADD_FAILURE() << what << " y[" << i << "," << r << "] = " << got << ", reference " << ref << " (tol "
                      << tol_ref << "), cpu " << cpu_v << " (tol " << tol_cpu << ")";
        ++failures;
      }
    }
  }
}

class CudaMatmul : public ::testing::TestWithParam<std::tuple<DType, int64_t>> {};

TEST_P(CudaMatmul, MatchesReferenceAndCpu) {
  KVWB_REQUIRE_CUDA();
  const auto [dtype, n] = GetParam();
  check({dtype, n, 67, 129, false}, 0);
  check({dtype, n, 256, 576, true}, 0);
  check({dtype, n, 1000, 333, true}, 1);  // odd everything, 4-byte aligned input
}

INSTANTIATE_TEST_SUITE_P(DtypesAndBatch, CudaMatmul,
                         ::testing::Combine(::testing::Values(DType::F32, DType::BF16, DType::F16),
                                            ::testing::Values(int64_t{1}, int64_t{3}, int64_t{17}, int64_t{200})),
                         [](const auto& info) {
                           return std::string(dtype_info(std::get<0>(info.param)).name) + "_n" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(CudaMatmulShapes, LlamaLikeProjection) {
  KVWB_REQUIRE_CUDA();
  check({DType::BF16, 64, 1024, 2048, false}, 0);
  check({DType::F16, 5, 2048, 1024, true}, 0);
}

TEST(CudaMatmulShapes, EmptyInputDimensionGivesTheBias) {
  KVWB_REQUIRE_CUDA();
  const std::vector<float> bias{1.0f, -2.0f, 3.0f};
  DeviceBuffer dbias = DeviceBuffer::from(bias), dy(6 * sizeof(float)), dx(sizeof(float));
  Matrix w{DType::F32, 3, 0, nullptr};
  test::cuda_backend().matmul(dx.as<float>(), 2, w, dbias.as<float>(), dy.as<float>());
  test::expect_close(dy.to_host<float>(), std::vector<float>{1, -2, 3, 1, -2, 3}, 0.0, 0.0, "bias rows");
}

TEST(CudaMatmulShapes, QuantizedWeightsAreRejectedWithTheirName) {
  KVWB_REQUIRE_CUDA();
  DeviceBuffer dx(64 * sizeof(float)), dy(64 * sizeof(float)), dw(1024);
  Matrix w{DType::Q4_K, 2, 256, dw.as<void>()};
  try {
    test::cuda_backend().matmul(dx.as<float>(), 1, w, nullptr, dy.as<float>());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "matmul: dtype q4_k not supported by the CUDA backend yet");
  }
}

}  // namespace
}  // namespace kvwb::kernels
