// kv_write and kv_move on the CPU: every field of a slot lands where the contract says, and
// nothing else in the pool changes.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace kvwb::kernels {
namespace {

// A small pool: 4 blocks of 4 slots, 2 KV heads, head_dim 3; every field holds a distinct
// value so a stray write shows up.
struct Pool {
  static constexpr int32_t kSlots = 16, kHeadDim = 3;
  std::vector<float> k, v, att_sum, att_sq, n_obs;
  std::vector<int32_t> pos;
  Pool() {
    k = test::random_floats(kSlots * kHeadDim, 1);
    v = test::random_floats(kSlots * kHeadDim, 2);
    att_sum = test::random_floats(kSlots, 3);
    att_sq = test::random_floats(kSlots, 4);
    n_obs = test::random_floats(kSlots, 5);
    for (int32_t i = 0; i < kSlots; ++i) pos.push_back(1000 + i);
  }
  PagedKv view() {
    PagedKv kv;
    kv.num_kv_heads = 2;
    kv.head_dim = kHeadDim;
    kv.block_size = 4;
    kv.k_pool = k.data();
    kv.v_pool = v.data();
    kv.slot_pos = pos.data();
    kv.att_sum = att_sum.data();
    kv.att_sq = att_sq.data();
    kv.n_obs = n_obs.data();
    return kv;
  }
  bool operator==(const Pool&) const = default;
};

TEST(CpuKvOps, WriteStoresRowsPositionAndClearsStatistics) {
  auto backend = make_cpu_backend(1);
  Pool pool;
  Pool expected = pool;
  const int64_t T = 3, H = 2, D = Pool::kHeadDim;
  const auto k = test::random_floats(T * H * D, 10);
  const auto v = test::random_floats(T * H * D, 11);
  const std::vector<int32_t> dst{5, 9, 6, 13, 0, 15};  // [token, head]
  const std::vector<int32_t> pos{40, 41, 7};
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t h = 0; h < H; ++h) {
      const int32_t s = dst[t * H + h];
      for (int64_t d = 0; d < D; ++d) {
        expected.k[s * D + d] = k[(t * H + h) * D + d];
        expected.v[s * D + d] = v[(t * H + h) * D + d];
      }
      expected.pos[s] = pos[t];
      expected.att_sum[s] = expected.att_sq[s] = expected.n_obs[s] = 0.0f;
    }
  }
  backend->kv_write(pool.view(), k.data(), v.data(), T, dst.data(), pos.data());
  EXPECT_TRUE(pool == expected);
}

TEST(CpuKvOps, MoveAppliesInOrderSoASourceCanBeOverwrittenLater) {
  auto backend = make_cpu_backend(1);
  Pool pool;
  const Pool before = pool;
  // 5 -> 2, then 7 -> 5 (5 was already read), then 3 -> 3 (no-op).
  const std::vector<int32_t> src{5, 7, 3}, dst{2, 5, 3};
  backend->kv_move(pool.view(), src.data(), dst.data(), 3);
  Pool expected = before;
  auto copy_slot = [&](int32_t from, int32_t to) {
    for (int d = 0; d < Pool::kHeadDim; ++d) {
      expected.k[to * Pool::kHeadDim + d] = before.k[from * Pool::kHeadDim + d];
      expected.v[to * Pool::kHeadDim + d] = before.v[from * Pool::kHeadDim + d];
    }
    expected.pos[to] = before.pos[from];
    expected.att_sum[to] = before.att_sum[from];
    expected.att_sq[to] = before.att_sq[from];
    expected.n_obs[to] = before.n_obs[from];
  };
  copy_slot(5, 2);
  copy_slot(7, 5);
  EXPECT_TRUE(pool == expected);
}

TEST(CpuKvOps, NegativeSlotsAreRejected) {
  auto backend = make_cpu_backend(1);
  Pool pool;
  const std::vector<float> k(6), v(6);
  const std::vector<int32_t> dst{1, -1};
  const int32_t pos = 0;
  EXPECT_THROW(backend->kv_write(pool.view(), k.data(), v.data(), 1, dst.data(), &pos), std::runtime_error);
  const std::vector<int32_t> src{-3};
  EXPECT_THROW(backend->kv_move(pool.view(), src.data(), dst.data(), 1), std::runtime_error);
}

}  // namespace
}  // namespace kvwb::kernels
