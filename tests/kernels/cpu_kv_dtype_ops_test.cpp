// The CPU KV ops on pools of every KV dtype (f32, f16, bf16, q8_0, q4_0):
//  - kv_write stores each slot's row exactly as quantize_row rounds it, alone (no neighbour
//    slot affects it), and touches nothing else;
//  - kv_move carries rows of any dtype byte for byte, in order;
//  - paged_attention over a stored pool against the double reference of paged_scenario.h run on
//    the dequantized values ("dequantize first"). Tolerance 2e-5 + 1e-4·|ref|, the f32 kernel's
//    (cpu_attention_test.cpp), for every dtype: the reference already holds the rounding, and
//    widening a stored value to f32 is exact, so what remains is f32 arithmetic. Stronger: the
//    result equals, bit for bit, the f32 kernel's on a pool holding the dequantized values.
//  - the same against the unrounded K/V, within the bound the rounding implies (derived below);
//  - a quantized dtype with head_dim not a multiple of 32 is refused by every op.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>

#include "kernel_test_util.h"
#include "kernels/backend.h"
#include "kernels/kv_dtype.h"
#include "kernels/quant.h"
#include "kv_dtype_pool.h"
#include "paged_scenario.h"

namespace kvwb::kernels {
namespace {

using test::PagedScenario;
using test::QueryToken;

std::string type_name(const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_info(info.param).name); }

// 8 slots of 2 KV heads, head_dim 64, every byte of every field distinct from what an op writes.
struct BytePool {
  static constexpr int32_t kSlots = 8, kHeadDim = 64;
  DType dtype;
  std::vector<uint8_t> k, v;
  std::vector<int32_t> pos;
  std::vector<float> att_sum, att_sq, n_obs;
  explicit BytePool(DType t) : dtype(t) {
    std::mt19937 rng(static_cast<uint32_t>(t) + 1);
    const size_t bytes = kSlots * kv_row_bytes(t, kHeadDim);
    for (size_t i = 0; i < bytes; ++i) k.push_back(static_cast<uint8_t>(rng())), v.push_back(static_cast<uint8_t>(rng()));
    att_sum = test::random_floats(kSlots, 3);
    att_sq = test::random_floats(kSlots, 4);
    n_obs = test::random_floats(kSlots, 5);
    for (int32_t i = 0; i < kSlots; ++i) pos.push_back(1000 + i);
  }
  size_t row() const { return kv_row_bytes(dtype, kHeadDim); }
  PagedKv view() {
    PagedKv kv;
    kv.num_kv_heads = 2;
    kv.head_dim = kHeadDim;
    kv.block_size = 4;
    kv.dtype = dtype;
    kv.k_pool = k.data();
    kv.v_pool = v.data();
    kv.slot_pos = pos.data();
    kv.att_sum = att_sum.data();
    kv.att_sq = att_sq.data();
    kv.n_obs = n_obs.data();
    return kv;
  }
  bool operator==(const BytePool&) const = default;
};

class CpuKvDtypeOps : public ::testing::TestWithParam<DType> {};

TEST_P(CpuKvDtypeOps, WriteStoresEachRowRoundedOnItsOwn) {
  const DType dtype = GetParam();
  auto backend = make_cpu_backend(1);
  BytePool pool(dtype);
  BytePool expected = pool;
  const int64_t T = 3, H = 2, D = BytePool::kHeadDim;
  const auto k = test::random_floats(T * H * D, 10, -3.0f, 3.0f);
  const auto v = test::random_floats(T * H * D, 11, -3.0f, 3.0f);
  const std::vector<int32_t> dst{5, 1, 6, 3, 0, 7};  // [token, head]
  const std::vector<int32_t> pos{40, 41, 7};
  for (int64_t i = 0; i < T * H; ++i) {
    const size_t s = static_cast<size_t>(dst[static_cast<size_t>(i)]);
    quantize_row(dtype, k.data() + i * D, expected.k.data() + s * pool.row(), D);
    quantize_row(dtype, v.data() + i * D, expected.v.data() + s * pool.row(), D);
    expected.pos[s] = pos[static_cast<size_t>(i / H)];
    expected.att_sum[s] = expected.att_sq[s] = expected.n_obs[s] = 0.0f;
  }
  backend->kv_write(pool.view(), k.data(), v.data(), T, dst.data(), pos.data());
  EXPECT_TRUE(pool == expected);
}

TEST_P(CpuKvDtypeOps, MoveCarriesRowsInOrder) {
  auto backend = make_cpu_backend(1);
  BytePool pool(GetParam());
  const BytePool before = pool;
  // 5 -> 2, then 7 -> 5 (5 was already read), then 3 -> 3 (no-op).
  const std::vector<int32_t> src{5, 7, 3}, dst{2, 5, 3};
  backend->kv_move(pool.view(), src.data(), dst.data(), 3);
  BytePool expected = before;
  const size_t row = pool.row();
  for (const auto& [from, to] : {std::pair{5, 2}, std::pair{7, 5}}) {
    std::memcpy(expected.k.data() + to * row, before.k.data() + from * row, row);
    std::memcpy(expected.v.data() + to * row, before.v.data() + from * row, row);
    expected.pos[to] = before.pos[from];
    expected.att_sum[to] = before.att_sum[from];
    expected.att_sq[to] = before.att_sq[from];
    expected.n_obs[to] = before.n_obs[from];
  }
  EXPECT_TRUE(pool == expected);
}

INSTANTIATE_TEST_SUITE_P(Types, CpuKvDtypeOps, ::testing::ValuesIn(kKvDTypes), type_name);

// Three sequences of two KV heads, GQA 4: a prefill chunk over a sparse history, a decode token
// over a long ragged one (several work items), and an unobserved token whose row holds a later
// position. Inputs in [-1, 1], queries in [-2, 2].
PagedScenario scenario(uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution keep(0.6);
  std::vector<std::vector<int32_t>> rows;
  for (int h = 0; h < 2; ++h) {
    std::vector<int32_t> r;
    for (int32_t p = 0; p < 200; ++p) {
      if (p >= 170 || keep(rng)) r.push_back(p);
    }
    rows.push_back(r);
  }
  for (int h = 0; h < 2; ++h) {
    std::vector<int32_t> r;
    for (int32_t p = 0; p < 700; ++p) {
      if (keep(rng) || p == 699) r.push_back(p);
    }
    rows.push_back(r);
  }
  rows.push_back({0, 4, 9, 30});
  rows.push_back({1, 2, 30});
  std::vector<QueryToken> tokens;
  for (int32_t p = 170; p < 200; ++p) tokens.push_back({0, p, p % 3 != 0});
  tokens.push_back({1, 699, true});
  tokens.push_back({2, 9, false});
  return test::build_scenario(2, 4, 64, 16, rows, tokens, seed);
}

struct Attended {
  std::vector<float> out;
  PagedScenario after;  // statistics after the op
};

Attended attend(PagedScenario s, test::StoredPool* pool) {
  Attended a;
  a.out.assign(s.q.size(), -7.0f);
  const PagedKv kv = pool != nullptr ? pool->view(s) : s.view();
  make_cpu_backend(2)->paged_attention(s.batch(), s.q.data(), kv, a.out.data());
  a.after = std::move(s);
  return a;
}

// The entries of a per-slot array at the slots in use.
template <typename T>
std::vector<double> used_values(const PagedScenario& s, const std::vector<T>& stat) {
  std::vector<double> out;
  for (size_t i = 0; i < s.used.size(); ++i) {
    if (s.used[i]) out.push_back(stat[i]);
  }
  return out;
}

class CpuKvDtypeAttention : public ::testing::TestWithParam<DType> {};

TEST_P(CpuKvDtypeAttention, MatchesTheReferenceThatDequantizesFirst) {
  PagedScenario s = scenario(21);
  test::StoredPool pool = test::store_pool(s, GetParam());  // s now holds the dequantized K/V
  const test::ReferenceResult ref = test::reference_attention(s);
  const Attended got = attend(s, &pool);
  test::expect_close(got.out, ref.out, 2e-5, 1e-4, "out");
  test::expect_close(used_values(s, got.after.att_sum), used_values(s, ref.att_sum), 2e-5, 1e-4, "att_sum");
  test::expect_close(used_values(s, got.after.att_sq), used_values(s, ref.att_sq), 2e-5, 1e-4, "att_sq");
  test::expect_close(used_values(s, got.after.n_obs), used_values(s, ref.n_obs), 0.0, 0.0, "n_obs");
  for (size_t i = 0; i < s.used.size(); ++i) {
    if (!s.used[i]) {
      ASSERT_TRUE(std::isnan(got.after.att_sum[i])) << "unused slot " << i << " was written";
    }
  }
  // The f32 kernel on the dequantized values: the same bits.
  const Attended f32 = attend(s, nullptr);
  EXPECT_EQ(std::memcmp(got.out.data(), f32.out.data(), got.out.size() * sizeof(float)), 0);
  EXPECT_EQ(used_values(s, got.after.att_sum), used_values(s, f32.after.att_sum));
  EXPECT_EQ(used_values(s, got.after.att_sq), used_values(s, f32.after.att_sq));
}

// Against the unrounded K/V. With |Δk| <= ek and |Δv| <= ev elementwise, a score moves by at
// most E = scale·‖q‖₁·ek, each probability by a factor in [e^{-2E}, e^{2E}], so
//   |Δout| <= (e^{2E} - 1)·max|v| + ev   (+ the f32 tolerance above).
// ek, ev are measured on this scenario's rounding (the round-trip test pins the rounding
// itself); the bound is loose for q4_0 and tight enough to matter for f16 / bf16 / q8_0.
TEST_P(CpuKvDtypeAttention, StaysWithinTheBoundTheRoundingImplies) {
  const PagedScenario exact = scenario(22);
  PagedScenario s = exact;
  test::StoredPool pool = test::store_pool(s, GetParam());
  double ek = 0.0, ev = 0.0, vmax = 0.0;
  for (size_t i = 0; i < s.k.size(); ++i) {
    if (!s.used[i / static_cast<size_t>(s.head_dim)]) continue;
    ek = std::max(ek, std::fabs(static_cast<double>(s.k[i]) - exact.k[i]));
    ev = std::max(ev, std::fabs(static_cast<double>(s.v[i]) - exact.v[i]));
    vmax = std::max(vmax, std::fabs(static_cast<double>(exact.v[i])));
  }
  const test::ReferenceResult ref = test::reference_attention(exact);
  const Attended got = attend(s, &pool);
  const int64_t D = s.head_dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  int reported = 0;
  for (size_t qh = 0; qh * static_cast<size_t>(D) < got.out.size() && reported < 5; ++qh) {
    double q1 = 0.0;
    for (int64_t d = 0; d < D; ++d) q1 += std::fabs(s.q[qh * static_cast<size_t>(D) + static_cast<size_t>(d)]);
    const double bound = std::expm1(2.0 * scale * q1 * ek) * vmax + ev;
    for (int64_t d = 0; d < D; ++d) {
      const size_t i = qh * static_cast<size_t>(D) + static_cast<size_t>(d);
      const double tol = bound + 2e-5 + 1e-4 * std::fabs(ref.out[i]);
      if (!(std::fabs(got.out[i] - ref.out[i]) <= tol)) {
        ADD_FAILURE() << dtype_info(GetParam()).name << " query head " << qh << " element " << d << ": " << got.out[i]
                      << " vs " << ref.out[i] << " (bound " << tol << ")";
        ++reported;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, CpuKvDtypeAttention, ::testing::ValuesIn(kKvDTypes), type_name);

TEST(CpuKvDtypeErrors, QuantizedRowsNeedHeadDimAMultipleOf32) {
  auto backend = make_cpu_backend(1);
  PagedScenario s = test::build_scenario(1, 1, 36, 4, {{0, 1, 2}}, {{0, 2, true}}, 5);
  for (DType dtype : {DType::Q8_0, DType::Q4_0}) {
    PagedKv kv = s.view();  // f32 storage is large enough: the ops must refuse before reading
    kv.dtype = dtype;
    const std::vector<float> k(36), v(36);
    const int32_t slot = 0, pos = 0;
    std::vector<float> out(s.q.size());
    const auto expect_refused = [&](const std::function<void()>& op, const char* name) {
      try {
        op();
        ADD_FAILURE() << name << " accepted " << dtype_info(dtype).name << " at head_dim 36";
      } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("must be a multiple of 32; it is 36"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).rfind(name, 0), 0u) << e.what();
      }
    };
    expect_refused([&] { backend->kv_write(kv, k.data(), v.data(), 1, &slot, &pos); }, "kv_write");
    expect_refused([&] { backend->kv_move(kv, &slot, &slot, 1); }, "kv_move");
    expect_refused([&] { backend->paged_attention(s.batch(), s.q.data(), kv, out.data()); }, "paged_attention");
  }
}

}  // namespace
}  // namespace kvwb::kernels
