// The CPU matmul's weights cache (kernels/cpu/weights_cache.h): with it, the sgemm path on f16,
// bf16 and block-quantized weights still matches a double reference over the reference
// dequantization, within the rounding bound of its f32 sums (f32_sum_error_bound over the
// products and the bias); only uploaded matrices are cached, the budget is kept, and uploading
// new weights at an address seen before drops the old copy. The tests run on the portable pass,
// the one where copies are made (worth_caching); cpu_isa_test.cpp runs the others.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/weights_cache.h"
#include "tests/kernels/isa_test_util.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/quant_test_util.h"

namespace kvwb::kernels {
namespace {

using Weight = test::AnyWeight;

void expect_matches_reference(const std::vector<float>& y, const Weight& w, const std::vector<float>& x,
                              const std::vector<float>& bias, int64_t n, const std::string& what) {
  test::expect_matmul_matches(y, w.values, x, bias, n, w.view.rows, w.view.cols, what);
}

using Case = std::tuple<DType, int /*threads*/>;
class CachedMatmul : public ::testing::TestWithParam<Case> {
  test::ScopedIsa portable_{cpu::Isa::Portable};
};

TEST_P(CachedMatmul, MatchesDoubleReferenceAndFillsTheCache) {
  const auto [dtype, threads] = GetParam();
  const int64_t cols = dtype_info(dtype).block_elems == 256 ? 512 : 96, rows = 67, n = 21;
  const Weight w = test::random_weight(dtype, rows, cols, 3);
  const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 4);
  const std::vector<float> bias = test::random_floats(static_cast<size_t>(rows), 5);
  cpu::WeightsCache cache(size_t{1} << 20);
  cache.add(w.view);
  for (int call = 0; call < 2; ++call) {  // the first call fills the cache, the second reads it
    std::vector<float> y(static_cast<size_t>(n * rows), NAN);
    cpu::matmul(x.data(), n, w.view, bias.data(), y.data(), threads, &cache);
    expect_matches_reference(y, w, x, bias, n, "call " + std::to_string(call));
    EXPECT_EQ(cache.used_bytes(), static_cast<size_t>(rows * cols) * sizeof(float));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CachedMatmul,
                         ::testing::Combine(::testing::Values(DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0,
                                                              DType::Q4_1, DType::Q4_K, DType::Q6_K),
                                            ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return std::string(dtype_info(std::get<0>(info.param)).name) + "_t" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(WeightsCache, OnlyUploadedMatricesWithinTheBudgetAreCopied) {
  const test::ScopedIsa portable(cpu::Isa::Portable);
  const int64_t rows = 40, cols = 256, n = 16;
  const Weight a = test::random_weight(DType::Q4_K, rows, cols, 6);
  const Weight b = test::random_weight(DType::Q6_K, rows, cols, 7);
  const Weight f = test::random_weight(DType::F32, rows, cols, 8);
  const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 9);
  const size_t one = static_cast<size_t>(rows * cols) * sizeof(float);
  cpu::WeightsCache cache(one + one / 2);  // room for one copy
  cache.add(a.view);
  cache.add(f.view);  // f32 is used in place, never copied
  std::vector<float> y(static_cast<size_t>(n * rows));
  cpu::matmul(x.data(), n, b.view, nullptr, y.data(), 2, &cache);  // not uploaded
  expect_matches_reference(y, b, x, {}, n, "not uploaded");
  EXPECT_EQ(cache.used_bytes(), 0u);
  cpu::matmul(x.data(), n, f.view, nullptr, y.data(), 2, &cache);
  EXPECT_EQ(cache.used_bytes(), 0u);
  cpu::matmul(x.data(), n, a.view, nullptr, y.data(), 2, &cache);
  EXPECT_EQ(cache.used_bytes(), one);
  cache.add(b.view);
  cpu::matmul(x.data(), n, b.view, nullptr, y.data(), 2, &cache);  // over the budget: uncached path
  expect_matches_reference(y, b, x, {}, n, "over the budget");
  EXPECT_EQ(cache.used_bytes(), one);
  EXPECT_EQ(cache.f32(b.view, 1), nullptr);
  EXPECT_NE(cache.f32(a.view, 1), nullptr);
  cpu::matmul(x.data(), 4, a.view, nullptr, y.data(), 2, &cache);  // decode rows use the copy too
  expect_matches_reference(y, a, x, {}, 4, "decode rows");
}

TEST(WeightsCache, UploadingNewWeightsAtTheSameAddressDropsTheOldCopy) {
  const test::ScopedIsa portable(cpu::Isa::Portable);
  const int64_t rows = 24, cols = 256, n = 12;
  Weight first = test::random_weight(DType::Q6_K, rows, cols, 10);
  const void* address = first.view.data;
  const std::vector<float> x = test::random_floats(static_cast<size_t>(n * cols), 11);
  auto backend = make_cpu_backend(2);
  std::vector<float> y(static_cast<size_t>(n * rows));
  backend->matmul(x.data(), n, backend->upload(first.view), nullptr, y.data());
  expect_matches_reference(y, first, x, {}, n, "first weights");
  // A second model's weights in the same buffer (same size, new values), uploaded as a new model is.
  const test::QuantMatrix other = test::random_quant_matrix(DType::Q6_K, rows, cols, 12);
  std::copy(other.bytes.begin(), other.bytes.end(), first.quant.bytes.begin());
  ASSERT_EQ(static_cast<const void*>(first.quant.bytes.data()), address);
  Weight second;
  second.view = first.view;
  second.values = other.values;
  backend->matmul(x.data(), n, backend->upload(second.view), nullptr, y.data());
  expect_matches_reference(y, second, x, {}, n, "second weights");
}

TEST(WeightsCache, ZeroBudgetCachesNothing) {
  const test::ScopedIsa portable(cpu::Isa::Portable);
  const Weight w = test::random_weight(DType::Q4_K, 32, 256, 13);
  cpu::WeightsCache cache(0);
  cache.add(w.view);
  EXPECT_EQ(cache.f32(w.view, 1), nullptr);
  EXPECT_EQ(cache.used_bytes(), 0u);
}

}  // namespace
}  // namespace kvwb::kernels
