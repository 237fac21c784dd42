// Embedding, RMSNorm, SwiGLU, add and RoPE on the GPU against the CPU backend on the same
// random inputs (odd sizes included). Tolerances are |gpu - cpu| <= atol + rtol·|cpu|.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <stdexcept>

#include "cuda_test_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvwb::kernels {
namespace {

using test::DeviceBuffer;
using test::expect_close;
using test::random_floats;

// Widening f16/bf16 is exact, so the embedding must match bit for bit.
TEST(CudaEmbedding, WidensStoredRowsExactlyLikeTheCpu) {
  KVWB_REQUIRE_CUDA();
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    const auto table = test::make_matrix(dtype, 1000, 67, 3);
    const std::vector<int32_t> ids{0, 999, 7, 7, 23, 512};
    const int64_t n = static_cast<int64_t>(ids.size());
    std::vector<float> ref(ids.size() * 67);
    test::cpu_backend().embedding(table.view(), ids.data(), n, ref.data());

    const Matrix dev = test::cuda_backend().upload(table.view());
    DeviceBuffer d_ids = DeviceBuffer::from(ids);
    DeviceBuffer d_out(ref.size() * sizeof(float));
    test::cuda_backend().embedding(dev, d_ids.as<int32_t>(), n, d_out.as<float>());
    expect_close(d_out.to_host<float>(), ref, 0.0, 0.0, std::string(dtype_info(dtype).name));
    test::cuda_backend().free(const_cast<void*>(dev.data));
  }
}

TEST(CudaEmbedding, OutOfRangeIdIsReportedAtTheNextSync) {
  KVWB_REQUIRE_CUDA();
  const auto table = test::make_matrix(DType::F32, 10, 4, 3);
  const Matrix dev = test::cuda_backend().upload(table.view());
  DeviceBuffer d_ids = DeviceBuffer::from(std::vector<int32_t>{3, 10});
  DeviceBuffer d_out(8 * sizeof(float));
  test::cuda_backend().embedding(dev, d_ids.as<int32_t>(), 2, d_out.as<float>());
  try {
    test::cuda_backend().synchronize();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "embedding: token id 10 is outside the vocabulary of 10");
  }
  test::cuda_backend().synchronize();  // the error was cleared: the backend stays usable
  test::cuda_backend().free(const_cast<void*>(dev.data));
}

TEST(CudaRmsnorm, MatchesTheCpuOnOddSizes) {
  KVWB_REQUIRE_CUDA();
  for (int64_t dim : {1, 7, 67, 576, 4099}) {
    const int64_t n = 37;
    const auto x = random_floats(static_cast<size_t>(n * dim), 21, -3.0f, 3.0f);
    const auto w = random_floats(static_cast<size_t>(dim), 22, 0.5f, 1.5f);
    std::vector<float> ref(x.size());
    test::cpu_backend().rmsnorm(x.data(), w.data(), n, dim, 1e-5f, ref.data());
    DeviceBuffer dx = DeviceBuffer::from(x), dw = DeviceBuffer::from(w), dout(x.size() * sizeof(float));
    test::cuda_backend().rmsnorm(dx.as<float>(), dw.as<float>(), n, dim, 1e-5f, dout.as<float>());
    // f32 sums of up to 4k squares in a different order: a few ulps of the norm.
    expect_close(dout.to_host<float>(), ref, 1e-6, 2e-6, "dim " + std::to_string(dim));
  }
}

TEST(CudaRmsnorm, InPlaceEqualsOutOfPlace) {
  KVWB_REQUIRE_CUDA();
  const int64_t n = 5, dim = 300;
  const auto x = random_floats(static_cast<size_t>(n * dim), 5, -2.0f, 2.0f);
  const auto w = random_floats(static_cast<size_t>(dim), 6, 0.5f, 1.5f);
  DeviceBuffer dx = DeviceBuffer::from(x), dw = DeviceBuffer::from(w), dout(x.size() * sizeof(float));
  test::cuda_backend().rmsnorm(dx.as<float>(), dw.as<float>(), n, dim, 1e-6f, dout.as<float>());
  test::cuda_backend().rmsnorm(dx.as<float>(), dw.as<float>(), n, dim, 1e-6f, dx.as<float>());
  expect_close(dx.to_host<float>(), dout.to_host<float>(), 0.0, 0.0, "in place");
}

TEST(CudaSwiglu, MatchesTheCpuAlsoInPlace) {
  KVWB_REQUIRE_CUDA();
  const int64_t n = 100003;  // odd, several grid strides
  const auto gate = random_floats(static_cast<size_t>(n), 31, -8.0f, 8.0f);
  const auto up = random_floats(static_cast<size_t>(n), 32, -2.0f, 2.0f);
  std::vector<float> ref(gate.size());
  test::cpu_backend().swiglu(gate.data(), up.data(), n, ref.data());
  DeviceBuffer dg = DeviceBuffer::from(gate), du = DeviceBuffer::from(up);
  test::cuda_backend().swiglu(dg.as<float>(), du.as<float>(), n, dg.as<float>());
  // expf is within 2 ulp on the GPU; the CPU's vector exp within a few ulp.
  expect_close(dg.to_host<float>(), ref, 1e-6, 1e-5, "swiglu");
}

TEST(CudaAdd, IsExact) {
  KVWB_REQUIRE_CUDA();
  const int64_t n = 77777;
  const auto x = random_floats(static_cast<size_t>(n), 41), y = random_floats(static_cast<size_t>(n), 42);
  std::vector<float> ref = x;
  test::cpu_backend().add(ref.data(), y.data(), n);
  DeviceBuffer dx = DeviceBuffer::from(x), dy = DeviceBuffer::from(y);
  test::cuda_backend().add(dx.as<float>(), dy.as<float>(), n);
  expect_close(dx.to_host<float>(), ref, 0.0, 0.0, "add");
}

class CudaRope : public ::testing::TestWithParam<std::tuple<RopeStyle, int64_t>> {};

TEST_P(CudaRope, MatchesTheCpuUpTo32kPositions) {
  KVWB_REQUIRE_CUDA();
  const auto [style, head_dim] = GetParam();
  const int64_t n = 9, heads = 5, half = head_dim / 2;
  auto x = random_floats(static_cast<size_t>(n * heads * head_dim), 51, -2.0f, 2.0f);
  const std::vector<int32_t> pos{0, 1, 2, 17, 1000, 4095, 8191, 20000, 32767};
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t j = 0; j < half; ++j) {
    inv_freq[static_cast<size_t>(j)] = static_cast<float>(std::pow(500000.0, -2.0 * j / static_cast<double>(head_dim)));
  }
  DeviceBuffer dx = DeviceBuffer::from(x), dpos = DeviceBuffer::from(pos), dfreq = DeviceBuffer::from(inv_freq);
  test::cpu_backend().rope(x.data(), n, heads, head_dim, pos.data(), inv_freq.data(), style);
  test::cuda_backend().rope(dx.as<float>(), n, heads, head_dim, dpos.as<int32_t>(), dfreq.as<float>(), style);
  // Both take cos/sin in double and rotate in f32: equal up to an ulp or two.
  expect_close(dx.to_host<float>(), x, 1e-6, 1e-6, "rope");
}

INSTANTIATE_TEST_SUITE_P(StylesAndDims, CudaRope,
                         ::testing::Combine(::testing::Values(RopeStyle::Half, RopeStyle::Pair),
                                            ::testing::Values(int64_t{2}, int64_t{64}, int64_t{128}, int64_t{94})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == RopeStyle::Half ? "Half" : "Pair") + "_D" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(CudaOpErrors, ShapeErrorsMatchTheCpuMessages) {
  KVWB_REQUIRE_CUDA();
  DeviceBuffer x(64 * sizeof(float)), pos(4 * sizeof(int32_t)), freq(4 * sizeof(float));
  try {
    test::cuda_backend().rope(x.as<float>(), 1, 1, 7, pos.as<int32_t>(), freq.as<float>(), RopeStyle::Half);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "rope: head_dim must be positive and even, got 7");
  }
  try {
    test::cuda_backend().rmsnorm(x.as<float>(), x.as<float>(), 1, 0, 1e-5f, x.as<float>());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "rmsnorm: dimension must be positive, got 0");
  }
}

TEST(CudaOpErrors, BuffersTooSmallOrNotOnTheDeviceAreRejectedBeforeLaunch) {
  KVWB_REQUIRE_CUDA();
  DeviceBuffer small(10 * sizeof(float)), big(100 * sizeof(float));
  try {
    test::cuda_backend().add(big.as<float>(), small.as<float>(), 100);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "add: y holds 40 bytes, the op needs 400");
  }
  std::vector<float> host(100);
  try {
    test::cuda_backend().add(big.as<float>(), host.data(), 100);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "add: y is not memory of the CUDA backend (use alloc/upload)");
  }
}

}  // namespace
}  // namespace kvwb::kernels
