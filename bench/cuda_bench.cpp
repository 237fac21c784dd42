// CUDA backend microbenchmarks, on a GPU machine:
//
//   cmake -S . -B build-gpu -G Ninja -DKVWB_GUI=OFF -DKVWB_CUDA=ON -DKVWB_BENCH=ON &&
//   cmake --build build-gpu --target cuda_bench && build-gpu/bench/cuda_bench --benchmark_counters_tabular=true
//
// Without a usable GPU (or in a build without CUDA) it prints why and exits 0.
//
// DecodeAttention/<context>/<batch>: one decode step of paged attention for a Llama-3-8B layer
//   (32 query heads, 8 KV heads, head_dim 128, block 16, f32 KV, blocks scattered through the
//   pool). GB_s = K+V bytes read / time; of_peak = GB_s / the HBM peak the driver reports;
//   of_copy = GB_s / device-to-device copy bandwidth measured in the same run. L2 is flushed
//   before every timed step. Target: of_peak >= 0.8 where a step reads >= 256 MiB (MiB_read);
//   smaller steps are latency-bound and are reported, not targeted.
// DecodeAttentionObserved: the same with statistics for every query (the second pass reads K
//   once more, so of_peak counts K+V only).
// Gemm/<shape>/<n>: y = x·Wᵀ with bf16 Llama-3-8B weights through backend.matmul (narrowing x
//   to bf16 + cuBLASLt), against cublasGemmEx on the same bf16 operands: vs_cublas = cuBLAS
//   time / kvwb time (1.0 = as fast).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "kernels/backend_factory.h"

#if KVWB_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/cuda/cuda_backend.h"

namespace kvwb::kernels {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

cuda::CudaBackend& backend() {
  static auto b = std::make_unique<cuda::CudaBackend>(0);
  return *b;
}

// Times work enqueued on the backend's stream with CUDA events.
class StreamTimer {
 public:
  StreamTimer() {
    check(cudaEventCreate(&start_), "event");
    check(cudaEventCreate(&stop_), "event");
  }
  ~StreamTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  void start() { check(cudaEventRecord(start_, backend().stream()), "event"); }
  double stop_seconds() {
    check(cudaEventRecord(stop_, backend().stream()), "event");
    check(cudaEventSynchronize(stop_), "event");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start_, stop_), "event");
    return ms * 1e-3;
  }

 private:
  cudaEvent_t start_{}, stop_{};
};

// Overwrites a buffer larger than L2 so the next step reads from HBM.
void flush_l2() {
  static void* buffer = backend().alloc(size_t{256} << 20);
  check(cudaMemsetAsync(buffer, 1, size_t{256} << 20, backend().stream()), "flush");
}

// Device-to-device copy bandwidth (read + write bytes per second), best of 5.
double copy_bandwidth_gb_s() {
  static double cached = 0;
  if (cached > 0) return cached;
  const size_t bytes = size_t{1} << 30;
  void* a = backend().alloc(bytes);
  void* b = backend().alloc(bytes);
  StreamTimer timer;
  for (int i = 0; i < 5; ++i) {
    timer.start();
    backend().copy(b, a, bytes);
    cached = std::max(cached, 2.0 * bytes / timer.stop_seconds() / 1e9);
  }
  backend().free(a);
  backend().free(b);
  return cached;
}

struct DeviceArray {
  void* ptr = nullptr;
  explicit DeviceArray(size_t bytes) : ptr(backend().alloc(bytes)) {}
  template <typename T>
  explicit DeviceArray(const std::vector<T>& host) : ptr(backend().alloc(host.size() * sizeof(T))) {
    backend().copy_from_host(ptr, host.data(), host.size() * sizeof(T));
  }
  ~DeviceArray() { backend().free(ptr); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

constexpr int32_t kKvHeads = 8, kHeads = 32, kHeadDim = 128, kBlock = 16;

void run_decode(benchmark::State& state, bool observe) {
  const int64_t context = state.range(0), batch = state.range(1);
  const int64_t blocks_per_row = (context + kBlock - 1) / kBlock;
  const int64_t rows = batch * kKvHeads, blocks = rows * blocks_per_row;
  const size_t slots = static_cast<size_t>(blocks * kBlock);
  const size_t kv_bytes = slots * kHeadDim * sizeof(float) * 2;
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "meminfo");
  if (kv_bytes > free_bytes * 8 / 10) {
    state.SkipWithError(("needs " + std::to_string(kv_bytes >> 20) + " MiB of KV, " +
                         std::to_string(free_bytes >> 20) + " MiB free")
                            .c_str());
    return;
  }
  // Blocks scattered through the pool, like a cache that has been running a while.
  std::vector<int32_t> indices(static_cast<size_t>(blocks));
  std::iota(indices.begin(), indices.end(), 0);
  std::shuffle(indices.begin(), indices.end(), std::mt19937(1));
  std::vector<int32_t> indptr(static_cast<size_t>(rows) + 1), lengths(static_cast<size_t>(rows), static_cast<int32_t>(context));
  for (int64_t r = 0; r <= rows; ++r) indptr[static_cast<size_t>(r)] = static_cast<int32_t>(r * blocks_per_row);
  std::vector<int32_t> token_seq(static_cast<size_t>(batch)), token_pos(static_cast<size_t>(batch), static_cast<int32_t>(context));
  std::iota(token_seq.begin(), token_seq.end(), 0);
  const std::vector<uint8_t> obs(static_cast<size_t>(batch), 1);

  DeviceArray k(slots * kHeadDim * sizeof(float)), v(slots * kHeadDim * sizeof(float));
  DeviceArray pos(slots * sizeof(int32_t)), sum(slots * sizeof(float)), sq(slots * sizeof(float)), nobs(slots * sizeof(float));
  DeviceArray d_indptr(indptr), d_indices(indices), d_lengths(lengths), d_seq(token_seq), d_pos(token_pos), d_obs(obs);
  DeviceArray q(static_cast<size_t>(batch) * kHeads * kHeadDim * sizeof(float));
  DeviceArray out(static_cast<size_t>(batch) * kHeads * kHeadDim * sizeof(float));
  PagedKv kv{kKvHeads, kHeadDim, kBlock, k.as<float>(), v.as<float>(), pos.as<int32_t>(), sum.as<float>(),
             sq.as<float>(), nobs.as<float>(), d_indptr.as<int32_t>(), d_indices.as<int32_t>(), d_lengths.as<int32_t>()};
  AttentionBatch ab;
  ab.num_tokens = static_cast<int32_t>(batch);
  ab.num_heads = kHeads;
  ab.token_seq = d_seq.as<int32_t>();
  ab.token_pos = d_pos.as<int32_t>();
  ab.observe = observe ? d_obs.as<uint8_t>() : nullptr;
  ab.scale = 0.08838834764f;

  backend().paged_attention(ab, q.as<float>(), kv, out.as<float>());  // warm-up (and error check)
  backend().synchronize();
  StreamTimer timer;
  double total_s = 0;
  int64_t steps = 0;
  for (auto _ : state) {
    flush_l2();
    timer.start();
    backend().paged_attention(ab, q.as<float>(), kv, out.as<float>());
    const double s = timer.stop_seconds();
    state.SetIterationTime(s);
    total_s += s;
    ++steps;
  }
  backend().synchronize();
  const double read = static_cast<double>(batch * context) * kKvHeads * kHeadDim * sizeof(float) * 2;
  const double gb_s = read * static_cast<double>(steps) / total_s / 1e9;
  const double peak = backend().device_info().hbm_peak_gb_s;
  state.counters["MiB_read"] = read / (1 << 20);
  state.counters["GB_s"] = gb_s;
  state.counters["of_peak"] = peak > 0 ? gb_s / peak : 0.0;
  state.counters["of_copy"] = gb_s / copy_bandwidth_gb_s();
}

void DecodeAttention(benchmark::State& state) { run_decode(state, false); }
void DecodeAttentionObserved(benchmark::State& state) { run_decode(state, true); }

struct GemmShape {
  const char* name;
  int64_t rows, cols;
};
// Llama-3-8B: hidden 4096, 8 KV heads of 128, MLP 14336, vocabulary 128256.
constexpr GemmShape kShapes[] = {{"qkv", 6144, 4096}, {"o", 4096, 4096},  {"gate_up", 28672, 4096},
                                 {"down", 4096, 14336}, {"lm_head", 128256, 4096}};

void Gemm(benchmark::State& state) {
  const GemmShape& shape = kShapes[state.range(0)];
  const int64_t n = state.range(1);
  std::vector<uint16_t> w_host(static_cast<size_t>(shape.rows * shape.cols), 0x3c00);  // small bf16 values
  std::mt19937 rng(2);
  for (auto& w : w_host) w = static_cast<uint16_t>(0x3c00 + (rng() & 0xff));
  const Matrix w = backend().upload(Matrix{DType::BF16, shape.rows, shape.cols, w_host.data()});
  w_host.clear();
  w_host.shrink_to_fit();
  DeviceArray x(static_cast<size_t>(n * shape.cols) * sizeof(float));
  DeviceArray x16(static_cast<size_t>(n * shape.cols) * sizeof(uint16_t));
  DeviceArray y(static_cast<size_t>(n * shape.rows) * sizeof(float));

  // cuBLAS on the same bf16 operands, f32 output and accumulation: the reference.
  cublasHandle_t handle = nullptr;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
  cublasSetStream(handle, backend().stream());
  const float alpha = 1.0f, beta = 0.0f;
  auto cublas_call = [&] {
    cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(shape.rows), static_cast<int>(n),
                 static_cast<int>(shape.cols), &alpha, w.data, CUDA_R_16BF, static_cast<int>(shape.cols), x16.ptr,
                 CUDA_R_16BF, static_cast<int>(shape.cols), &beta, y.ptr, CUDA_R_32F, static_cast<int>(shape.rows),
                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  StreamTimer timer;
  cublas_call();
  double cublas_s = 1e30;
  for (int i = 0; i < 10; ++i) {
    timer.start();
    cublas_call();
    cublas_s = std::min(cublas_s, timer.stop_seconds());
  }
  cublasDestroy(handle);

  backend().matmul(x.as<float>(), n, w, nullptr, y.as<float>());  // warm-up: plan + heuristic
  backend().synchronize();
  double best = 1e30;
  for (auto _ : state) {
    timer.start();
    backend().matmul(x.as<float>(), n, w, nullptr, y.as<float>());
    const double s = timer.stop_seconds();
    best = std::min(best, s);
    state.SetIterationTime(s);
  }
  backend().free(const_cast<void*>(w.data));
  const double flops = 2.0 * static_cast<double>(n) * shape.rows * shape.cols;
  state.SetLabel(shape.name);
  state.counters["TFLOP_s"] = flops / best / 1e12;  // best of the timed calls, like cuBLAS's
  state.counters["cublas_TFLOP_s"] = flops / cublas_s / 1e12;
  state.counters["vs_cublas"] = cublas_s / best;
}

void register_benchmarks() {
  auto* decode = benchmark::RegisterBenchmark("DecodeAttention", DecodeAttention);
  auto* observed = benchmark::RegisterBenchmark("DecodeAttentionObserved", DecodeAttentionObserved);
  for (int64_t context : {1024, 2048, 4096, 8192, 16384, 32768}) {
    for (int64_t batch : {1, 4, 16, 64, 256}) {
      decode->Args({context, batch});
      if (batch == 16 || batch == 64) observed->Args({context, batch});
    }
  }
  decode->UseManualTime()->Unit(benchmark::kMicrosecond);
  observed->UseManualTime()->Unit(benchmark::kMicrosecond);
  auto* gemm = benchmark::RegisterBenchmark("Gemm", Gemm);
  for (int64_t s = 0; s < static_cast<int64_t>(std::size(kShapes)); ++s) {
    for (int64_t n : {1, 16, 64, 256, 1024, 4096}) gemm->Args({s, n});
  }
  gemm->UseManualTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace kvwb::kernels
#endif

int main(int argc, char** argv) {
  std::string why;
  if (!kvwb::kernels::cuda_available(&why)) {
    std::printf("cuda_bench: skipped: no CUDA device: %s\n", why.c_str());
    return 0;
  }
#if KVWB_HAVE_CUDA
  const auto& info = kvwb::kernels::backend().device_info();
  std::printf("device: %s (sm_%d%d, %d SMs, HBM peak %.0f GB/s, copy %.0f GB/s)\n", info.name.c_str(), info.cc_major,
              info.cc_minor, info.sm_count, info.hbm_peak_gb_s, kvwb::kernels::copy_bandwidth_gb_s());
  kvwb::kernels::register_benchmarks();
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
