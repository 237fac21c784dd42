// CPU backend microbenchmarks. Decode matvec is memory bound, so its throughput is reported in
// bytes of weights per second next to the machine's own read bandwidth, measured here by a
// plain parallel sum over 1 GiB (BM_MemoryReadBandwidth): the ratio is the figure of merit.
// Weights are cycled through enough copies (>= 512 MiB) that every call reads from DRAM, not
// from cache. Prefill matmul and attention report FLOP/s.
//
//   build-x/bench/cpu_ops_bench --benchmark_filter='Bandwidth|Matvec|Decode'
//   OMP_NUM_THREADS=1 build-x/bench/cpu_ops_bench ...   (one core against one core's bandwidth)
// On a machine shared with other jobs add --benchmark_repetitions=3
// --benchmark_enable_random_interleaving=true (so the reference and the kernels see the same
// load) and OMP_WAIT_POLICY=passive: libgomp's default spin-waiting between the many short
// parallel regions of a decode step collapses when the cores are oversubscribed (measured at
// load 8 on 2 cores: 0.12 GB/s by default, 6.7 GB/s passive, against a 7.2 GB/s reference).
#include <benchmark/benchmark.h>
#include <omp.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/half.h"
#include "kernels/quant.h"

namespace kvwb::kernels {
namespace {

constexpr size_t kColdBytes = size_t{512} << 20;  // weights cycled per benchmark

// OMP_NUM_THREADS sets both the backend's threads and the bandwidth reference's (default: all).
Backend& backend() {
  static std::unique_ptr<Backend> b = make_cpu_backend(omp_get_max_threads());
  return *b;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Random quantized blocks with small f16 scales where each 32-value type keeps them (random
// bits could be inf or NaN; the speed of the kernels does not depend on the values).
void fill_quantized(DType dtype, uint8_t* dst, size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < bytes; ++i) dst[i] = static_cast<uint8_t>(rng());
  const size_t block = static_cast<size_t>(dtype_info(dtype).block_bytes);
  const uint16_t scale = f32_to_f16(0.01f);
  for (size_t off = 0; off + block <= bytes; off += block) {
    if (dtype == DType::Q6_K) {
      std::memcpy(dst + off + 208, &scale, 2);
    } else {
      std::memcpy(dst + off, &scale, 2);
      if (dtype == DType::Q4_1 || dtype == DType::Q4_K) std::memcpy(dst + off + 2, &scale, 2);
    }
  }
}

// Enough copies of one [rows, cols] matrix in `dtype` to exceed the caches. Storage is filled
// in parallel (also faulting the pages in before timing).
struct ColdMatrices {
  std::vector<uint8_t> bytes;
  std::vector<Matrix> views;
  ColdMatrices(DType dtype, int64_t rows, int64_t cols, size_t min_total = kColdBytes) {
    const size_t one = dtype_bytes(dtype, rows * cols);
    const size_t copies = std::max<size_t>(2, (min_total + one - 1) / one);
    bytes.resize(one * copies);
    const auto src = random_floats(static_cast<size_t>(rows * cols), 1);
    for (size_t c = 0; c < copies; ++c) {
      uint8_t* dst = bytes.data() + c * one;
      if (is_quantized(dtype)) {
        fill_quantized(dtype, dst, one, static_cast<uint32_t>(c));
        views.push_back(Matrix{dtype, rows, cols, dst});
        continue;
      }
#pragma omp parallel for
      for (int64_t i = 0; i < rows * cols; ++i) {
        const float v = src[static_cast<size_t>(i)];
        if (dtype == DType::F32) {
          reinterpret_cast<float*>(dst)[i] = v;
        } else {
          reinterpret_cast<uint16_t*>(dst)[i] = dtype == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
        }
      }
      views.push_back(Matrix{dtype, rows, cols, dst});
    }
  }
};

// Sum of a[0, n) with independent accumulators, so the loop is bound by memory, not by the
// latency of one chain of additions.
float sum_floats(const float* a, size_t n) {
  size_t i = 0;
  float total = 0.0f;
#if defined(__AVX2__)
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (float l : lanes) total += l;
#endif
  for (; i < n; ++i) total += a[i];
  return total;
}

// The machine's read bandwidth: every thread sums its share of 1 GiB of floats.
void BM_MemoryReadBandwidth(benchmark::State& state) {
  const size_t n = (size_t{1} << 30) / sizeof(float);
  std::vector<float> buffer(n);
#pragma omp parallel for
  for (size_t i = 0; i < n; ++i) buffer[i] = 1.0f;
  for (auto _ : state) {
    float total = 0.0f;
#pragma omp parallel reduction(+ : total)
    {
      const size_t parts = static_cast<size_t>(omp_get_num_threads()), me = static_cast<size_t>(omp_get_thread_num());
      const size_t begin = n * me / parts, end = n * (me + 1) / parts;
      total += sum_floats(buffer.data() + begin, end - begin);
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * sizeof(float)));
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_MemoryReadBandwidth)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// y = x·Wᵀ for n input rows; bytes processed = weight bytes.
void BM_Matvec(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2), n = state.range(3);
  ColdMatrices w(dtype, rows, cols);
  const auto x = random_floats(static_cast<size_t>(n * cols), 2);
  std::vector<float> y(static_cast<size_t>(n * rows));
  size_t next = 0;
  for (auto _ : state) {
    backend().matmul(x.data(), n, w.views[next], nullptr, y.data());
    next = (next + 1) % w.views.size();
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * dtype_bytes(dtype, rows * cols)));
  state.SetLabel(std::string(dtype_info(dtype).name));
}

void matvec_shapes(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    for (auto [rows, cols] : {std::pair{768, 768}, std::pair{2048, 768}, std::pair{768, 2048}, std::pair{32000, 768}}) {
      b->Args({static_cast<int64_t>(t), rows, cols, 1});
    }
  }
  // SmolLM2-135M's decode matrices: Q4_1 layers (q/o, k/v, gate/up, down), the Q8_0 head.
  for (auto [rows, cols] : {std::pair{576, 576}, std::pair{192, 576}, std::pair{1536, 576}, std::pair{576, 1536}}) {
    b->Args({static_cast<int64_t>(DType::Q4_1), rows, cols, 1});
  }
  b->Args({static_cast<int64_t>(DType::Q8_0), 49152, 576, 1});
  // Small batches of decode tokens: the same weights, n times the work.
  for (int64_t n : {2, 4, 8, 16}) b->Args({static_cast<int64_t>(DType::F16), 2048, 768, n});
  b->ArgNames({"dtype", "rows", "cols", "n"});
}
BENCHMARK(BM_Matvec)->Apply(matvec_shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A quantized matvec on one L2-resident matrix: the kernel's compute rate without DRAM.
void BM_QuantMatvecWarm(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2);
  ColdMatrices w(dtype, rows, cols, 0);
  const auto x = random_floats(static_cast<size_t>(cols), 2);
  std::vector<float> y(static_cast<size_t>(rows));
  for (auto _ : state) {
    backend().matmul(x.data(), 1, w.views[0], nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * dtype_bytes(dtype, rows * cols)));
  state.counters["weights_per_ns"] = benchmark::Counter(static_cast<double>(rows * cols) * static_cast<double>(state.iterations()) / 1e9,
                                                        benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_info(dtype).name));
}
BENCHMARK(BM_QuantMatvecWarm)
    ->Args({static_cast<int64_t>(DType::Q4_1), 576, 576})
    ->Args({static_cast<int64_t>(DType::Q8_0), 576, 576})
    ->ArgNames({"dtype", "rows", "cols"})
    ->Unit(benchmark::kMicrosecond);

// One decode token through the matrices of a ~110M-parameter Llama (hidden 768, MLP 2048,
// 12 layers, vocab 32000): per layer q, k, v, o (768x768), gate, up (2048x768), down
// (768x2048), then the LM head. Every weight byte is read once per token.
void BM_DecodeModelMatvecs(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  std::vector<ColdMatrices> mats;
  std::vector<Matrix> order;
  mats.reserve(4);
  // Twelve layers of distinct weights: one allocation per shape holding every layer's copy.
  mats.emplace_back(dtype, 768, 768, dtype_bytes(dtype, 768 * 768) * 48);
  mats.emplace_back(dtype, 2048, 768, dtype_bytes(dtype, 2048 * 768) * 24);
  mats.emplace_back(dtype, 768, 2048, dtype_bytes(dtype, 768 * 2048) * 12);
  mats.emplace_back(dtype, 32000, 768, dtype_bytes(dtype, 32000 * 768));
  size_t bytes = 0;
  for (int layer = 0; layer < 12; ++layer) {
    for (int i = 0; i < 4; ++i) order.push_back(mats[0].views[static_cast<size_t>(layer * 4 + i)]);
    order.push_back(mats[1].views[static_cast<size_t>(layer * 2)]);
    order.push_back(mats[1].views[static_cast<size_t>(layer * 2 + 1)]);
    order.push_back(mats[2].views[static_cast<size_t>(layer)]);
  }
  order.push_back(mats[3].views[0]);
  for (const Matrix& m : order) bytes += dtype_bytes(m.dtype, m.rows * m.cols);
  const auto x = random_floats(2048, 3);
  std::vector<float> y(32000);
  for (auto _ : state) {
    for (const Matrix& m : order) backend().matmul(x.data(), 1, m, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["params_M"] = static_cast<double>(bytes) / static_cast<double>(dtype_bytes(dtype, 1)) / 1e6;
  state.SetLabel(std::string(dtype_info(dtype).name));
}
BENCHMARK(BM_DecodeModelMatvecs)
    ->Arg(static_cast<int64_t>(DType::F32))
    ->Arg(static_cast<int64_t>(DType::F16))
    ->Arg(static_cast<int64_t>(DType::BF16))
    ->ArgName("dtype")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Prefill: n input rows against one (warm) weight matrix; reports FLOP/s.
void BM_PrefillMatmul(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1), cols = state.range(2), n = state.range(3);
  ColdMatrices w(dtype, rows, cols, 0);
  const auto x = random_floats(static_cast<size_t>(n * cols), 4);
  std::vector<float> y(static_cast<size_t>(n * rows));
  for (auto _ : state) {
    backend().matmul(x.data(), n, w.views[0], nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * rows * cols) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_info(dtype).name));
}
BENCHMARK(BM_PrefillMatmul)
    ->ArgsProduct({{static_cast<int64_t>(DType::F32), static_cast<int64_t>(DType::F16), static_cast<int64_t>(DType::BF16)},
                   {2048},
                   {768},
                   {128, 512}})
    ->Args({static_cast<int64_t>(DType::F16), 32000, 768, 128})
    ->ArgNames({"dtype", "rows", "cols", "n"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Paged attention of `queries` consecutive tokens of one sequence over `slots` cached slots,
// 9 query heads over 3 KV heads (SmolLM2-135M), head_dim 64, block size 16; all observed.
void BM_PagedAttention(benchmark::State& state) {
  const int32_t queries = static_cast<int32_t>(state.range(0)), slots = static_cast<int32_t>(state.range(1));
  const int32_t kvh = 3, heads = 9, d = 64, bs = 16;
  const int32_t blocks_per_row = (slots + bs - 1) / bs;
  const size_t pool_slots = static_cast<size_t>(kvh * blocks_per_row * bs);
  auto k = random_floats(pool_slots * d, 5), v = random_floats(pool_slots * d, 6);
  std::vector<int32_t> pos(pool_slots);
  std::vector<float> sum(pool_slots), sq(pool_slots), obs(pool_slots);
  std::vector<int32_t> indptr{0}, indices, lengths;
  for (int32_t h = 0; h < kvh; ++h) {
    for (int32_t b = 0; b < blocks_per_row; ++b) indices.push_back(h * blocks_per_row + b);
    indptr.push_back(static_cast<int32_t>(indices.size()));
    lengths.push_back(slots);
    for (int32_t i = 0; i < blocks_per_row * bs; ++i) pos[static_cast<size_t>(h * blocks_per_row * bs + i)] = i;
  }
  PagedKv kv{kvh, d, bs, k.data(), v.data(), pos.data(), sum.data(), sq.data(), obs.data(),
             indptr.data(), indices.data(), lengths.data()};
  std::vector<int32_t> seq(static_cast<size_t>(queries), 0), tpos(static_cast<size_t>(queries));
  for (int32_t t = 0; t < queries; ++t) tpos[static_cast<size_t>(t)] = slots - queries + t;
  std::vector<uint8_t> observe(static_cast<size_t>(queries), 1);
  const auto q = random_floats(static_cast<size_t>(queries * heads * d), 7);
  std::vector<float> out(q.size());
  AttentionBatch batch{queries, heads, seq.data(), tpos.data(), observe.data(), 1.0f / 8.0f};
  for (auto _ : state) {
    backend().paged_attention(batch, q.data(), kv, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  // QK and PV: 2 flops per multiply-add, over the causally visible slots.
  double visible = 0.0;
  for (int32_t t = 0; t < queries; ++t) visible += tpos[static_cast<size_t>(t)] + 1;
  state.counters["FLOP/s"] = benchmark::Counter(4.0 * d * heads * visible * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PagedAttention)
    ->Args({1, 8192})
    ->Args({128, 2048})
    ->Args({512, 8192})
    ->ArgNames({"queries", "slots"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Sample(benchmark::State& state) {
  auto logits = random_floats(49152, 8);
  for (float& l : logits) l *= 12.0f;  // peaked like a language model's logits
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const SamplingParams params{static_cast<float>(state.range(0)) / 10.0f, 0.9f};
  for (auto _ : state) benchmark::DoNotOptimize(backend().sample(logits.data(), 49152, params, u(rng)));
}
BENCHMARK(BM_Sample)->Arg(0)->Arg(7)->ArgName("temp_x10")->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvwb::kernels

BENCHMARK_MAIN();
