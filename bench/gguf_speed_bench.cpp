// Prompt and decode speed of one model on the CPU backend, measured the way llama.cpp's
// llama-bench measures pp512 and tg128 (bench/llamacpp_compare.sh runs both side by side):
//   BM_Prompt512: one forward pass over 512 prompt tokens in one batch, into an empty cache;
//   BM_Decode128: 128 single-token forward passes from position 0 (logits every step);
//   each also as .../fast with --matmul fast (int8 activations, kernels/cpu/int8_dot.h).
// Token ids are pseudo-random, as llama-bench's. Each iteration starts from an empty cache.
//
//   KVWB_BENCH_MODEL=smollm2 KVWB_BENCH_THREADS=1 build/bench/gguf_speed_bench
//
// KVWB_BENCH_MODEL takes what --model takes (default smollm2); KVWB_BENCH_THREADS defaults to 1.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "engine/model/model_paths.h"
#include "engine/runtime/forward.h"
#include "engine/runtime/kv_cache.h"
#include "kernels/backend.h"

namespace kvwb {
namespace {

int threads() {
  const char* t = std::getenv("KVWB_BENCH_THREADS");
  return t != nullptr ? std::atoi(t) : 1;
}

const Model& model() {
  static const std::unique_ptr<Model> m = [] {
    const char* name = std::getenv("KVWB_BENCH_MODEL");
    return load_model(resolve_model_path(name != nullptr ? name : "smollm2"));
  }();
  return *m;
}

// Runs `tokens` tokens from position 0 into a fresh cache, `per_pass` tokens per forward pass;
// returns the seconds spent in the forward passes.
double run_tokens(Forward& forward, kernels::Backend& backend, int32_t tokens, int32_t per_pass) {
  const ModelConfig& c = model().config;
  const int64_t block = 16;
  KvCacheShape shape{c.num_layers, c.num_kv_heads, c.head_dim, block, c.num_layers * c.num_kv_heads * (tokens / block + 1)};
  KvCache cache(backend, shape);
  const int32_t seq = cache.add_sequence();
  ForwardBatch batch;
  std::vector<float> logits;
  uint32_t state = 12345;
  double seconds = 0;
  for (int32_t begin = 0; begin < tokens; begin += per_pass) {
    batch.clear();
    for (int32_t i = begin; i < begin + per_pass; ++i) {
      state = state * 1664525u + 1013904223u;
      batch.add(seq, static_cast<int32_t>(state % static_cast<uint32_t>(c.vocab_size)), i, i == begin + per_pass - 1);
    }
    const auto t0 = std::chrono::steady_clock::now();
    forward.run(batch, cache, logits);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return seconds;
}

void speed(benchmark::State& state, int32_t tokens, int32_t per_pass, kernels::MatmulMode matmul) {
  auto backend = kernels::make_cpu_backend(threads(), kernels::kDefaultWeightsCacheBytes, matmul);
  Forward forward(model(), *backend);
  run_tokens(forward, *backend, per_pass, per_pass);  // warm-up: page in the weights
  double seconds = 0;
  for (auto _ : state) {
    const double s = run_tokens(forward, *backend, tokens, per_pass);
    state.SetIterationTime(s);
    seconds += s;
  }
  state.counters["tok_s"] = static_cast<double>(tokens) * static_cast<double>(state.iterations()) / seconds;
  state.counters["threads"] = threads();
}

void BM_Prompt512(benchmark::State& state, kernels::MatmulMode matmul) { speed(state, 512, 512, matmul); }
void BM_Decode128(benchmark::State& state, kernels::MatmulMode matmul) { speed(state, 128, 1, matmul); }

BENCHMARK_CAPTURE(BM_Prompt512, exact, kernels::MatmulMode::exact)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Prompt512, fast, kernels::MatmulMode::fast)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode128, exact, kernels::MatmulMode::exact)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode128, fast, kernels::MatmulMode::fast)->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvwb

BENCHMARK_MAIN();
