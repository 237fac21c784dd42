// Embedding, RMSNorm, SwiGLU and add on the CPU against scalar double references, within f32
// rounding bounds derived per op (kernel_test_util.h): embedding and add are exact.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace kvwb::kernels {
namespace {

using test::expect_close;
using test::gamma_f32;
using test::make_matrix;
using test::random_floats;

class CpuElementwise : public ::testing::TestWithParam<int> {};  // threads

TEST_P(CpuElementwise, EmbeddingWidensTheStoredRowsExactly) {
  auto backend = make_cpu_backend(GetParam());
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    const auto table = make_matrix(dtype, 50, 67, 3);
    const std::vector<int32_t> ids{0, 49, 7, 7, 23};
    std::vector<float> out(ids.size() * 67);
    backend->embedding(table.view(), ids.data(), static_cast<int64_t>(ids.size()), out.data());
    std::vector<float> ref;
    for (int32_t id : ids) ref.insert(ref.end(), table.values.begin() + id * 67, table.values.begin() + (id + 1) * 67);
    expect_close(out, ref, 0.0, 0.0, std::string(dtype_info(dtype).name));
  }
}

TEST_P(CpuElementwise, RmsnormMatchesTheFormula) {
  auto backend = make_cpu_backend(GetParam());
  for (int64_t dim : {1, 7, 67, 576}) {
    const int64_t n = 300;  // large enough to run in parallel when allowed
    const auto x = random_floats(static_cast<size_t>(n * dim), 21, -3.0f, 3.0f);
    const auto w = random_floats(static_cast<size_t>(dim), 22, 0.5f, 1.5f);
    const float eps = 1e-5f;
    std::vector<float> out(x.size());
    backend->rmsnorm(x.data(), w.data(), n, dim, eps, out.data());
    std::vector<double> ref(x.size());
    for (int64_t r = 0; r < n; ++r) {
      double ss = 0.0;
      for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
      const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
      for (int64_t i = 0; i < dim; ++i) ref[r * dim + i] = x[r * dim + i] * inv * w[i];
    }
    // Σx² has relative error gamma(dim) (positive terms); /dim, +eps, sqrt (which halves the
    // relative error it is given and adds u), 1/· and the two multiplies add one u each.
    expect_close(out, ref, 0.0, gamma_f32(static_cast<double>(dim) / 2 + 6), "dim " + std::to_string(dim));
  }
}

TEST_P(CpuElementwise, RmsnormOfZerosIsZeroNotNan) {
  auto backend = make_cpu_backend(GetParam());
  const std::vector<float> x(16, 0.0f), w(16, 1.0f);
  std::vector<float> out(16, 1.0f);
  backend->rmsnorm(x.data(), w.data(), 1, 16, 1e-6f, out.data());
  expect_close(out, std::vector<double>(16, 0.0), 0.0, 0.0, "out");
}

TEST_P(CpuElementwise, SwigluMatchesTheFormulaAlsoInPlace) {
  auto backend = make_cpu_backend(GetParam());
  const int64_t n = 40005;  // parallel chunks plus a scalar tail
  // Wide range: exp(-g) saturates at both ends of silu.
  auto gate = random_floats(static_cast<size_t>(n), 31, -30.0f, 30.0f);
  const auto up = random_floats(static_cast<size_t>(n), 32, -2.0f, 2.0f);
  gate[0] = 0.0f;
  gate[1] = -100.0f;
  gate[2] = 100.0f;
  // exp(-g) has relative error kExpRelError, 1 + e adds u (relative to 1 + e, the error of e
  // stays at most kExpRelError), the divide and the multiply one u each. Where exp(-g)
  // overflows f32 (g < -88.72) the kernel gives 0 for silu(g) = g·e^g / (1 + e^g), whose
  // size is then below 88.8·e^-88.7 < 2^-120: that much absolute error per unit of |up|.
  std::vector<double> ref(static_cast<size_t>(n)), bound(static_cast<size_t>(n));
  for (size_t i = 0; i < ref.size(); ++i) {
    ref[i] = gate[i] / (1.0 + std::exp(-static_cast<double>(gate[i]))) * up[i];
    bound[i] = (test::kExpRelError + gamma_f32(3)) * std::fabs(ref[i]) + 0x1p-120 * std::fabs(up[i]);
  }
  std::vector<float> out(static_cast<size_t>(n));
  backend->swiglu(gate.data(), up.data(), n, out.data());
  test::expect_within(out, ref, bound, "out");
  backend->swiglu(gate.data(), up.data(), n, gate.data());  // out aliases gate
  test::expect_within(gate, ref, bound, "in place");
}

TEST_P(CpuElementwise, AddIsElementwise) {
  auto backend = make_cpu_backend(GetParam());
  const int64_t n = 70001;
  auto x = random_floats(static_cast<size_t>(n), 41);
  const auto y = random_floats(static_cast<size_t>(n), 42);
  std::vector<float> ref(static_cast<size_t>(n));
  for (size_t i = 0; i < ref.size(); ++i) ref[i] = x[i] + y[i];  // one correctly rounded f32 add
  backend->add(x.data(), y.data(), n);
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(x[i], ref[i]) << i;
}

INSTANTIATE_TEST_SUITE_P(Threads, CpuElementwise, ::testing::Values(1, 2));

TEST(CpuElementwiseErrors, EmbeddingRejectsOutOfRangeIds) {
  auto backend = make_cpu_backend(1);
  const auto table = make_matrix(DType::F16, 10, 4, 1);
  std::vector<float> out(8);
  for (int32_t bad : {10, -1}) {
    const std::vector<int32_t> ids{3, bad};
    try {
      backend->embedding(table.view(), ids.data(), 2, out.data());
      FAIL() << "no error for id " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()),
                "embedding: token id " + std::to_string(bad) + " is outside the vocabulary of 10");
    }
  }
}

}  // namespace
}  // namespace kvwb::kernels
