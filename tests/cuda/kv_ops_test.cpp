// kv_write and kv_move on the GPU against the CPU backend: both copy values, so the whole pool
// (K, V, positions, statistics, including NaN-poisoned unused slots) must match bit for bit.
#include <gtest/gtest.h>

#include <limits>
#include <numeric>
#include <random>

#include "cuda_test_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvwb::kernels {
namespace {

using test::DeviceBuffer;

// A pool on the host and its copy on the device; unused slots are NaN.
struct Pools {
  int32_t slots, head_dim, heads, block_size;
  std::vector<float> k, v, sum, sq, nobs;
  std::vector<int32_t> pos;
  DeviceBuffer dk, dv, dsum, dsq, dnobs, dpos;

  Pools(int32_t num_slots, int32_t hd, int32_t kv_heads, int32_t bs, uint32_t seed)
      : slots(num_slots), head_dim(hd), heads(kv_heads), block_size(bs) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    k = test::random_floats(static_cast<size_t>(slots * hd), seed);
    v = test::random_floats(static_cast<size_t>(slots * hd), seed + 1);
    sum = test::random_floats(static_cast<size_t>(slots), seed + 2);
    sq = test::random_floats(static_cast<size_t>(slots), seed + 3);
    nobs = test::random_floats(static_cast<size_t>(slots), seed + 4);
    pos.resize(static_cast<size_t>(slots));
    std::iota(pos.begin(), pos.end(), 1000);
    for (int32_t s = 0; s < slots; s += 5) {  // every fifth slot poisoned
      for (int32_t d = 0; d < hd; ++d) k[static_cast<size_t>(s * hd + d)] = v[static_cast<size_t>(s * hd + d)] = nan;
      sum[static_cast<size_t>(s)] = nan;
    }
    dk = DeviceBuffer::from(k);
    dv = DeviceBuffer::from(v);
    dsum = DeviceBuffer::from(sum);
    dsq = DeviceBuffer::from(sq);
    dnobs = DeviceBuffer::from(nobs);
    dpos = DeviceBuffer::from(pos);
  }
  PagedKv host_view() {
    return PagedKv{heads, head_dim, block_size, k.data(), v.data(), pos.data(), sum.data(), sq.data(), nobs.data(),
                   nullptr, nullptr, nullptr};
  }
  PagedKv device_view() const {
    return PagedKv{heads, head_dim, block_size, dk.as<float>(), dv.as<float>(), dpos.as<int32_t>(), dsum.as<float>(),
                   dsq.as<float>(), dnobs.as<float>(), nullptr, nullptr, nullptr};
  }
  void expect_device_equals_host(const std::string& what) const {
    auto same = [&](const std::vector<float>& host, const DeviceBuffer& dev, const char* name) {
      const auto got = dev.to_host<float>();
      for (size_t i = 0; i < host.size(); ++i) {
        if (!test::same_or_both_nan(got[i], host[i])) {
          ADD_FAILURE() << what << ": " << name << "[" << i << "] is " << got[i] << ", expected " << host[i];
          return;
        }
      }
    };
    same(k, dk, "k");
    same(v, dv, "v");
    same(sum, dsum, "att_sum");
    same(sq, dsq, "att_sq");
    same(nobs, dnobs, "n_obs");
    EXPECT_EQ(dpos.to_host<int32_t>(), pos) << what;
  }
};

TEST(CudaKvWrite, MatchesTheCpuIncludingStatisticsReset) {
  KVWB_REQUIRE_CUDA();
  for (int32_t hd : {3, 64, 128}) {
    Pools pools(160, hd, 2, 16, 10);
    const int64_t T = 7;
    const auto k = test::random_floats(static_cast<size_t>(T * 2 * hd), 20);
    const auto v = test::random_floats(static_cast<size_t>(T * 2 * hd), 21);
    std::vector<int32_t> slots(static_cast<size_t>(T * 2));
    std::iota(slots.begin(), slots.end(), 0);
    std::shuffle(slots.begin(), slots.end(), std::mt19937(3));
    for (int32_t& s : slots) s = s * 11 % 160;  // scattered, distinct (11 is prime to 160)
    const std::vector<int32_t> pos{5, 9, 100, 101, 102, 4000, 7};
    test::cpu_backend().kv_write(pools.host_view(), k.data(), v.data(), T, slots.data(), pos.data());
    DeviceBuffer dk = DeviceBuffer::from(k), dv = DeviceBuffer::from(v);
    DeviceBuffer dslots = DeviceBuffer::from(slots), dpos = DeviceBuffer::from(pos);
    test::cuda_backend().kv_write(pools.device_view(), dk.as<float>(), dv.as<float>(), T, dslots.as<int32_t>(),
                                  dpos.as<int32_t>());
    pools.expect_device_equals_host("head_dim " + std::to_string(hd));
  }
}

TEST(CudaKvWrite, SlotOutsideThePoolIsReported) {
  KVWB_REQUIRE_CUDA();
  Pools pools(32, 4, 1, 16, 1);
  const std::vector<float> kv(8, 1.0f);
  DeviceBuffer dk = DeviceBuffer::from(kv), dslots = DeviceBuffer::from(std::vector<int32_t>{3, 32});
  DeviceBuffer dpos = DeviceBuffer::from(std::vector<int32_t>{0, 1});
  test::cuda_backend().kv_write(pools.device_view(), dk.as<float>(), dk.as<float>(), 2, dslots.as<int32_t>(),
                                dpos.as<int32_t>());
  try {
    test::cuda_backend().synchronize();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "kv_write: slot 32 is outside the pool of 32 slots");
  }
}

// Random move lists with chains (a slot written, then read), cycles and no-ops, like the
// compaction the cache does and worse.
TEST(CudaKvMove, AppliesMovesInOrderLikeTheCpu) {
  KVWB_REQUIRE_CUDA();
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    Pools pools(96, round % 2 == 0 ? 64 : 5, 2, 16, 100 + static_cast<uint32_t>(round));
    std::uniform_int_distribution<int32_t> slot(0, 95);
    const int n = 1 + round * 7;
    std::vector<int32_t> src(static_cast<size_t>(n)), dst(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      src[static_cast<size_t>(i)] = slot(rng);
      dst[static_cast<size_t>(i)] = (i % 5 == 0) ? src[static_cast<size_t>(i)] : slot(rng);
      if (i > 0 && i % 3 == 0) src[static_cast<size_t>(i)] = dst[static_cast<size_t>(i - 1)];  // chain
    }
    test::cpu_backend().kv_move(pools.host_view(), src.data(), dst.data(), n);
    test::cuda_backend().kv_move(pools.device_view(), src.data(), dst.data(), n);
    pools.expect_device_equals_host("round " + std::to_string(round));
  }
}

TEST(CudaKvMove, CompactionShiftsRetainedSlotsUp) {
  KVWB_REQUIRE_CUDA();
  Pools pools(64, 8, 1, 16, 7);
  // Keep every third slot of 0..47, moved to 0..15 in order (sources overlap destinations).
  std::vector<int32_t> src, dst;
  for (int32_t i = 0; i < 16; ++i) {
    src.push_back(i * 3);
    dst.push_back(i);
  }
  test::cpu_backend().kv_move(pools.host_view(), src.data(), dst.data(), 16);
  test::cuda_backend().kv_move(pools.device_view(), src.data(), dst.data(), 16);
  pools.expect_device_equals_host("compaction");
}

TEST(CudaKvMove, BadSlotsAreRejectedBeforeAnyMove) {
  KVWB_REQUIRE_CUDA();
  Pools pools(32, 4, 1, 16, 1);
  const std::vector<int32_t> src{1, -1}, dst{2, 3}, far{1, 40};
  try {
    test::cuda_backend().kv_move(pools.device_view(), src.data(), dst.data(), 2);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "kv_move: slot index -1 is negative");
  }
  try {
    test::cuda_backend().kv_move(pools.device_view(), dst.data(), far.data(), 2);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "kv_move: slot 40 is outside the pool of 32 slots");
  }
  pools.expect_device_equals_host("nothing moved");
}

}  // namespace
}  // namespace kvwb::kernels
