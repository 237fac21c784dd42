// The KV ops on pools of every KV dtype, GPU against CPU: kv_write must round exactly as the
// CPU does (the same bytes: round-to-nearest-even conversions, IEEE division, the same tie and
// saturation rules), kv_move must carry rows byte for byte, and paged attention over a stored
// pool must agree with the CPU and with the double reference on the dequantized values within
// the f32 tolerances of attention_harness.h (the stored values widen exactly on both sides).
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "attention_harness.h"
#include "cuda_test_util.h"
#include "kernels/kv_dtype.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/kv_dtype_pool.h"

namespace kvwb::kernels {
namespace {

using test::DeviceBuffer;

std::string name_of(DType t) { return std::string(dtype_info(t).name); }
std::string type_name(const ::testing::TestParamInfo<DType>& info) { return name_of(info.param); }

// Inputs that exercise the rounding rules: random magnitudes per 32-value block, zeros, exact
// q8_0 ties (amax 127 gives d = 1), values past the f16 range, f16 subnormals.
std::vector<float> tricky_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  const float magnitudes[] = {1.0f, 3.0f, 1e-5f, 70000.0f, 0.0f, 127.0f};
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t kind = (i / 32) % 6;
    x[i] = kind == 5 ? (i % 32 == 0 ? 127.0f : static_cast<float>(static_cast<int>(i % 32) - 16) + 0.5f)
                     : unit(rng) * magnitudes[kind];
  }
  return x;
}

// A byte pool on the host and its copy on the device.
struct BytePools {
  DType dtype;
  int32_t slots, head_dim, heads;
  std::vector<uint8_t> k, v;
  std::vector<float> sum, sq, nobs;
  std::vector<int32_t> pos;
  DeviceBuffer dk, dv, dsum, dsq, dnobs, dpos;

  BytePools(DType t, int32_t num_slots, int32_t hd, int32_t kv_heads, uint32_t seed)
      : dtype(t), slots(num_slots), head_dim(hd), heads(kv_heads) {
    std::mt19937 rng(seed);
    k.resize(static_cast<size_t>(slots) * kv_row_bytes(t, hd));
    v.resize(k.size());
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = static_cast<uint8_t>(rng());
      v[i] = static_cast<uint8_t>(rng());
    }
    sum = test::random_floats(static_cast<size_t>(slots), seed + 2);
    sq = test::random_floats(static_cast<size_t>(slots), seed + 3);
    nobs = test::random_floats(static_cast<size_t>(slots), seed + 4);
    pos.resize(static_cast<size_t>(slots));
    std::iota(pos.begin(), pos.end(), 1000);
    dk = DeviceBuffer::from(k);
    dv = DeviceBuffer::from(v);
    dsum = DeviceBuffer::from(sum);
    dsq = DeviceBuffer::from(sq);
    dnobs = DeviceBuffer::from(nobs);
    dpos = DeviceBuffer::from(pos);
  }
  PagedKv view(void* kp, void* vp, int32_t* p, float* s, float* q, float* o) const {
    PagedKv kv{heads, head_dim, 16, kp, vp, p, s, q, o, nullptr, nullptr, nullptr};
    kv.dtype = dtype;
    return kv;
  }
  PagedKv host_view() { return view(k.data(), v.data(), pos.data(), sum.data(), sq.data(), nobs.data()); }
  PagedKv device_view() const {
    return view(dk.as<void>(), dv.as<void>(), dpos.as<int32_t>(), dsum.as<float>(), dsq.as<float>(), dnobs.as<float>());
  }
  void expect_device_equals_host(const std::string& what) const {
    EXPECT_TRUE(dk.to_host<uint8_t>() == k) << what << ": K bytes differ";
    EXPECT_TRUE(dv.to_host<uint8_t>() == v) << what << ": V bytes differ";
    EXPECT_EQ(dpos.to_host<int32_t>(), pos) << what;
    EXPECT_EQ(dsum.to_host<float>(), sum) << what;
    EXPECT_EQ(dsq.to_host<float>(), sq) << what;
    EXPECT_EQ(dnobs.to_host<float>(), nobs) << what;
  }
};

class CudaKvDtype : public ::testing::TestWithParam<DType> {};

TEST_P(CudaKvDtype, WriteRoundsExactlyAsTheCpu) {
  KVWB_REQUIRE_CUDA();
  for (int32_t hd : {32, 64, 128}) {
    BytePools pools(GetParam(), 160, hd, 2, 10);
    const int64_t T = 9;
    const auto k = tricky_values(static_cast<size_t>(T * 2 * hd), 20);
    const auto v = tricky_values(static_cast<size_t>(T * 2 * hd), 21);
    std::vector<int32_t> slots(static_cast<size_t>(T * 2));
    std::iota(slots.begin(), slots.end(), 0);
    std::shuffle(slots.begin(), slots.end(), std::mt19937(3));
    for (int32_t& s : slots) s = s * 11 % 160;
    const std::vector<int32_t> pos{5, 9, 100, 101, 102, 4000, 7, 8, 9};
    test::cpu_backend().kv_write(pools.host_view(), k.data(), v.data(), T, slots.data(), pos.data());
    DeviceBuffer dk = DeviceBuffer::from(k), dv = DeviceBuffer::from(v);
    DeviceBuffer dslots = DeviceBuffer::from(slots), dpos = DeviceBuffer::from(pos);
    test::cuda_backend().kv_write(pools.device_view(), dk.as<float>(), dv.as<float>(), T, dslots.as<int32_t>(),
                                  dpos.as<int32_t>());
    pools.expect_device_equals_host(name_of(GetParam()) + " head_dim " + std::to_string(hd));
  }
}

TEST_P(CudaKvDtype, MoveCarriesRowsLikeTheCpu) {
  KVWB_REQUIRE_CUDA();
  std::mt19937 rng(5);
  for (int round = 0; round < 6; ++round) {
    BytePools pools(GetParam(), 96, round % 2 == 0 ? 64 : 32, 2, 100 + static_cast<uint32_t>(round));
    std::uniform_int_distribution<int32_t> slot(0, 95);
    const int n = 1 + round * 9;
    std::vector<int32_t> src(static_cast<size_t>(n)), dst(static_cast<size_t>(n));
    for (size_t i = 0; i < src.size(); ++i) {
      src[i] = slot(rng);
      dst[i] = i % 5 == 0 ? src[i] : slot(rng);
      if (i > 0 && i % 3 == 0) src[i] = dst[i - 1];  // chain: a slot written, then read
    }
    test::cpu_backend().kv_move(pools.host_view(), src.data(), dst.data(), n);
    test::cuda_backend().kv_move(pools.device_view(), src.data(), dst.data(), n);
    pools.expect_device_equals_host("round " + std::to_string(round));
  }
}

// The scenario's stored pool on both backends; the rest as attention_harness.h's check.
void check_stored_attention(const test::ScenarioSpec& spec, DType dtype, const std::string& what) {
  test::PagedScenario s = test::make_scenario(spec);
  test::StoredPool pool = test::store_pool(s, dtype);  // s: the dequantized K/V, unused slots NaN
  std::vector<float> cpu_out(s.q.size(), std::numeric_limits<float>::quiet_NaN());
  test::PagedScenario cpu_state = s;
  test::cpu_backend().paged_attention(cpu_state.batch(), cpu_state.q.data(), pool.view(cpu_state), cpu_out.data());

  const test::AttentionResult gpu = test::run_on_cuda(s, true, &pool);
  const std::vector<float>& gpu_out = gpu.out;

  test::expect_close(gpu_out, cpu_out, test::kOutAtol, test::kOutRtol, what + " out vs cpu");
  const test::ReferenceResult ref = test::reference_attention(s);
  test::expect_close(gpu_out, ref.out, test::kOutAtol, test::kOutRtol, what + " out vs double reference");
  std::vector<double> got, want, got_n, want_n;
  for (size_t i = 0; i < s.used.size(); ++i) {
    if (!s.used[i]) continue;
    got.push_back(gpu.att_sum[i]);
    want.push_back(ref.att_sum[i]);
    got_n.push_back(gpu.n_obs[i]);
    want_n.push_back(ref.n_obs[i]);
  }
  test::expect_close(got, want, test::kStatAtol, test::kStatRtol, what + " att_sum vs double reference");
  test::expect_close(got_n, want_n, 0.0, 0.0, what + " n_obs vs double reference");
}

TEST_P(CudaKvDtype, AttentionReadsTheStoredRows) {
  KVWB_REQUIRE_CUDA();
  for (const auto& [group, block_size, head_dim] : {std::tuple{1, 16, 64}, std::tuple{4, 32, 128}, std::tuple{3, 16, 64}}) {
    test::ScenarioSpec spec;
    spec.kv_heads = 2;
    spec.group = group;
    spec.head_dim = head_dim;
    spec.block_size = block_size;
    spec.seqs = {{300, 1, 0.7}, {45, 1, 0.5}, {190, 13, 0.8}, {2000, 1, 0.9}};  // the last one splits
    spec.observe = test::ScenarioSpec::Observe::Alternate;
    spec.seed = static_cast<uint32_t>(group * 100 + head_dim);
    check_stored_attention(spec, GetParam(), name_of(GetParam()) + " G" + std::to_string(group));
  }
}

INSTANTIATE_TEST_SUITE_P(Types, CudaKvDtype, ::testing::ValuesIn(kKvDTypes), type_name);

TEST(CudaKvDtypeErrors, QuantizedRowsNeedHeadDimAMultipleOf32) {
  KVWB_REQUIRE_CUDA();
  BytePools pools(DType::F32, 32, 36, 1, 1);  // f32 rows: large enough, the op must refuse first
  PagedKv kv = pools.device_view();
  kv.dtype = DType::Q8_0;
  const std::vector<int32_t> src{1}, dst{2};
  try {
    test::cuda_backend().kv_move(kv, src.data(), dst.data(), 1);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "kv_move: kv dtype q8_0 stores blocks of 32 values along head_dim, which must be a multiple of 32; it is 36");
  }
}

}  // namespace
}  // namespace kvwb::kernels
