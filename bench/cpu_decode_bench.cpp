// Single-sequence decode speed of the CPU path on a ~100M-parameter Llama-shaped model with
// random weights, against the memory-bandwidth bound measured in the same program.
//
//   build/bench/cpu_decode_bench --benchmark_counters_tabular=true
//
// bound_tok_s = measured read bandwidth / weight bytes per token; `of_bound` = tok/s / bound.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/model/random_model.h"
#include "engine/runtime/forward.h"
#include "engine/runtime/kv_cache.h"
#include "kernels/backend.h"

namespace kvwb {
namespace {

ModelConfig bench_config() {
  // 12 layers of d 768 (GQA 12/4 heads, SwiGLU 2048) + a 32000 vocabulary, tied: ~100M params.
  ModelConfig c;
  c.vocab_size = 32000;
  c.hidden_size = 768;
  c.intermediate_size = 2048;
  c.num_layers = 12;
  c.num_heads = 12;
  c.num_kv_heads = 4;
  c.head_dim = 64;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.tie_word_embeddings = true;
  return c;
}

int threads() {
  const char* t = std::getenv("KVWB_BENCH_THREADS");
  return t != nullptr ? std::atoi(t) : 2;
}

// Read bandwidth of this machine: parallel sum over a buffer far larger than the caches,
// best of several passes (what a perfectly streaming decode could reach).
double measure_read_bandwidth(int nthreads) {
  static double cached = 0;
  if (cached > 0) return cached;
  // Integer sums vectorise (float sums would not without -ffast-math, and would then measure
  // the adder instead of memory).
  const size_t n = (size_t{1} << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
#pragma omp parallel for num_threads(nthreads)
  for (size_t i = 0; i < n; ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t total = 0;
#pragma omp parallel for num_threads(nthreads) reduction(+ : total)
    for (size_t i = 0; i < n; ++i) total += buf[i];
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(total);
    best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / s);
  }
  cached = best;
  return best;
}

void BM_ReadBandwidth(benchmark::State& state) {
  const double bw = measure_read_bandwidth(threads());
  for (auto _ : state) benchmark::DoNotOptimize(bw);
  state.counters["GB_s"] = bw / 1e9;
}

void decode(benchmark::State& state, kernels::DType dtype) {
  const int nthreads = threads();
  const double bandwidth = measure_read_bandwidth(nthreads);
  const auto model = make_random_model(bench_config(), dtype);
  auto backend = kernels::make_cpu_backend(nthreads);
  const ModelConfig& c = model->config;
  const int64_t context = 64 + 1024;
  KvCacheShape shape{c.num_layers, c.num_kv_heads, c.head_dim, 16, c.num_layers * c.num_kv_heads * (context / 16 + 1)};
  KvCache cache(*backend, shape);
  Forward forward(*model, *backend);
  const int32_t seq = cache.add_sequence();
  ForwardBatch batch;
  std::vector<float> logits;
  for (int32_t i = 0; i < 64; ++i) batch.add(seq, (i * 37) % 32000, i, i == 63);  // a short prompt
  forward.run(batch, cache, logits);
  int32_t pos = 64;
  for (auto _ : state) {
    if (pos >= context) state.SkipWithError("context exhausted");
    batch.clear();
    batch.add(seq, (pos * 31) % 32000, pos, true);
    forward.run(batch, cache, logits);
    ++pos;
  }
  const double bytes = static_cast<double>(decode_weight_bytes(*model));
  state.counters["tok_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["weight_MB"] = bytes / 1e6;
  state.counters["bound_tok_s"] = bandwidth / bytes;
  state.counters["GB_s"] = benchmark::Counter(static_cast<double>(state.iterations()) * bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["bw_GB_s"] = bandwidth / 1e9;
  state.counters["of_bound"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * bytes / bandwidth, benchmark::Counter::kIsRate);
}

void BM_DecodeF32(benchmark::State& state) { decode(state, kernels::DType::F32); }
void BM_DecodeBF16(benchmark::State& state) { decode(state, kernels::DType::BF16); }

BENCHMARK(BM_ReadBandwidth)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeF32)->Iterations(200)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeBF16)->Iterations(200)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace kvwb

BENCHMARK_MAIN();
