// Decode attention at a 4k context by KV dtype (issue 21, benchmark 3): `batch` sequences, one
// decode query each at position 4095 over 4096 cached slots, SmolLM2-135M's attention shape
// (9 query heads over 3 KV heads, head_dim 64, block size 16), all queries observed (the
// statistics every policy reads). Each sequence's blocks are scattered through the pool, as the
// engine's are. Reported: time per iteration (one decode step of one layer), decoded tokens
// per second of that layer's attention, the pool's K/V MiB and the K/V bytes read per second
// (every slot is visible: the whole pool is read). Less memory read should be faster where the
// pool no longer fits the caches.
//
//   build/bench/kv_dtype_attention_bench --benchmark_counters_tabular=true
//   KVWB_BENCH_BACKEND=cuda build/bench/kv_dtype_attention_bench     (on a GPU machine)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/backend_factory.h"
#include "kernels/kv_dtype.h"

namespace kvwb::kernels {
namespace {

constexpr int32_t kKvHeads = 3, kHeads = 9, kHeadDim = 64, kBlock = 16, kContext = 4096;

Backend& backend() {
  static std::unique_ptr<Backend> b = [] {
    const char* name = std::getenv("KVWB_BENCH_BACKEND");
    return name != nullptr ? make_backend(name, 0) : make_cpu_backend(omp_get_max_threads());
  }();
  return *b;
}

// Backend memory for one benchmark run, freed at its end.
struct Allocations {
  std::vector<void*> held;
  ~Allocations() {
    for (void* p : held) backend().free(p);
  }
  void* bytes(size_t n) {
    held.push_back(backend().alloc(n));
    return held.back();
  }
  template <typename T>
  T* upload(const std::vector<T>& host) {
    auto* p = static_cast<T*>(bytes(host.size() * sizeof(T)));
    backend().copy_from_host(p, host.data(), host.size() * sizeof(T));
    return p;
  }
};

void BM_DecodeAttention4k(benchmark::State& state) {
  const DType dtype = kKvDTypes[static_cast<size_t>(state.range(0))];
  const int32_t batch = static_cast<int32_t>(state.range(1));
  const int32_t blocks_per_row = kContext / kBlock, rows = batch * kKvHeads;
  const int64_t slots = static_cast<int64_t>(rows) * blocks_per_row * kBlock;
  const size_t row_bytes = kv_row_bytes(dtype, kHeadDim);
  std::vector<int32_t> order(static_cast<size_t>(rows * blocks_per_row));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(1));
  std::vector<int32_t> indptr{0}, indices, lengths, pos(static_cast<size_t>(slots));
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t b = 0; b < blocks_per_row; ++b) {
      const int32_t block = order[static_cast<size_t>(r * blocks_per_row + b)];
      indices.push_back(block);
      for (int32_t i = 0; i < kBlock; ++i) pos[static_cast<size_t>(block * kBlock + i)] = b * kBlock + i;
    }
    indptr.push_back(static_cast<int32_t>(indices.size()));
    lengths.push_back(kContext);
  }
  Allocations mem;
  PagedKv kv;
  kv.num_kv_heads = kKvHeads;
  kv.head_dim = kHeadDim;
  kv.block_size = kBlock;
  kv.dtype = dtype;
  kv.k_pool = mem.bytes(static_cast<size_t>(slots) * row_bytes);
  kv.v_pool = mem.bytes(static_cast<size_t>(slots) * row_bytes);
  kv.slot_pos = mem.upload(pos);
  kv.att_sum = mem.upload(std::vector<float>(static_cast<size_t>(slots)));
  kv.att_sq = mem.upload(std::vector<float>(static_cast<size_t>(slots)));
  kv.n_obs = mem.upload(std::vector<float>(static_cast<size_t>(slots)));
  kv.indptr = mem.upload(indptr);
  kv.indices = mem.upload(indices);
  kv.lengths = mem.upload(lengths);
  {  // K and V: random values rounded to the dtype by kv_write, one row per "token" of a view
     // with one KV head (so row i goes to slot dst[i]), in chunks.
    std::mt19937 rng(2);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    const int64_t chunk = 4096;  // divides slots
    std::vector<float> k(static_cast<size_t>(chunk * kHeadDim)), v(k.size());
    std::vector<int32_t> dst(static_cast<size_t>(chunk)), row_pos(static_cast<size_t>(chunk));
    PagedKv one = kv;
    one.num_kv_heads = 1;
    for (int64_t first = 0; first < slots; first += chunk) {
      for (float& x : k) x = unit(rng);
      for (float& x : v) x = unit(rng);
      std::iota(dst.begin(), dst.end(), static_cast<int32_t>(first));
      std::copy_n(pos.begin() + first, chunk, row_pos.begin());
      int32_t* d = mem.upload(dst);
      int32_t* p = mem.upload(row_pos);
      float* dk = mem.upload(k);
      float* dv = mem.upload(v);
      backend().kv_write(one, dk, dv, chunk, d, p);
      backend().synchronize();
      for (int i = 0; i < 4; ++i) {  // d, p, dk, dv: not needed past the write
        backend().free(mem.held.back());
        mem.held.pop_back();
      }
    }
  }
  std::vector<int32_t> seq(static_cast<size_t>(batch)), tpos(static_cast<size_t>(batch), kContext - 1);
  std::iota(seq.begin(), seq.end(), 0);
  std::vector<uint8_t> observe(static_cast<size_t>(batch), 1);
  std::vector<float> q(static_cast<size_t>(batch * kHeads * kHeadDim));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(-2.0f, 2.0f);
  for (float& x : q) x = unit(rng);
  AttentionBatch ab;
  ab.num_tokens = batch;
  ab.num_heads = kHeads;
  ab.token_seq = mem.upload(seq);
  ab.token_pos = mem.upload(tpos);
  ab.observe = mem.upload(observe);
  ab.scale = 1.0f / 8.0f;
  const float* dq = mem.upload(q);
  auto* out = static_cast<float*>(mem.bytes(q.size() * sizeof(float)));
  for (auto _ : state) {
    backend().paged_attention(ab, dq, kv, out);
    backend().synchronize();
  }
  const double bytes = 2.0 * static_cast<double>(slots) * static_cast<double>(row_bytes);
  state.counters["KV_MiB"] = bytes / (1024.0 * 1024.0);
  state.counters["KV_read_B/s"] = benchmark::Counter(bytes * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * batch,
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(std::string(kv_dtype_name(dtype)));
}
BENCHMARK(BM_DecodeAttention4k)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {1, 8}})
    ->ArgNames({"dtype", "batch"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace kvwb::kernels

BENCHMARK_MAIN();
