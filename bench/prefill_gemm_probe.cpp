// GEMM peak probe: kvwb's prefill matmul on quantized weights against OpenBLAS sgemm on the same
// shapes in f32, in one run. The shapes are one SmolLM2-135M layer's (q and o 576×576, k and v
// 192×576, gate and up 1536×576, down 576×1536) at n = 128 and 512 prompt tokens, the weights
// Q4_1 as in its GGUF; or, for a type of 256-value blocks (q4_k, q6_k), whose rows 576 values
// are not whole blocks of, one layer of a Llama of width 768 (GQA 12/4, MLP 2048). Reported per
// n, over rounds that alternate the contenders:
//   wall GFLOP/s   median over rounds of the best of a few calls (what a step sees)
//   GFLOP/CPU-s    flops per second of CPU time of the whole process (every thread): on a
//                  machine shared with other jobs this is the load-independent figure
//   ratio          kvwb / sgemm per round, median over rounds
// kvwb runs with its weights cache (the default), without (weights_cache_bytes = 0), and with
// --matmul fast (int8 activations and integer dot products, kernels/cpu/int8_dot.h; the K types
// have none and stay exact there).
// With LAYERS > 1 the pass runs over that many copies of the layer, so that the weights come
// from memory rather than the last-level cache, as in a whole model (30 SmolLM2 layers: 66 MB
// of Q4_1, 425 MB as f32); N lists the input rows (default 128,512).
//   OMP_WAIT_POLICY=passive build/bench/prefill_gemm_probe [ROUNDS] [q4_1|q8_0|q4_0|q4_k|q6_k] [LAYERS] [N,N,...]
// (threads: OMP_NUM_THREADS, default 2).
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/isa.h"
#include "kernels/half.h"
#include "kernels/quant.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace kvwb::kernels {
namespace {

struct Shape {
  int64_t rows, cols;
};
const std::vector<Shape> kSmolLM2Layer = {{576, 576}, {192, 576}, {192, 576}, {576, 576}, {1536, 576}, {1536, 576}, {576, 1536}};
const std::vector<Shape> kWidth768Layer = {{768, 768}, {256, 768}, {256, 768}, {768, 768}, {2048, 768}, {2048, 768}, {768, 2048}};

DType dtype_named(const std::string& name) {
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q4_K, DType::Q6_K}) {
    if (dtype_info(t).name == name) return t;
  }
  std::fprintf(stderr, "prefill_gemm_probe: unknown weight type '%s' (expected q8_0, q4_0, q4_1, q4_k or q6_k)\n", name.c_str());
  std::exit(2);
}

// Random blocks with a small f16 scale (and min) where each type keeps them.
void fill_blocks(DType dtype, std::vector<uint8_t>& bytes, std::mt19937& rng) {
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const uint16_t scale = kvwb::f32_to_f16(0.01f);
  const size_t block = static_cast<size_t>(dtype_info(dtype).block_bytes);
  for (size_t off = 0; off < bytes.size(); off += block) {
    if (dtype == DType::Q6_K) {
      std::memcpy(&bytes[off + 208], &scale, 2);
      continue;
    }
    std::memcpy(&bytes[off], &scale, 2);
    if (dtype == DType::Q4_1 || dtype == DType::Q4_K) std::memcpy(&bytes[off + 2], &scale, 2);
  }
}

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double cpu_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Timing {
  double wall = 0, cpu = 0;  // seconds for one pass over the layer
};

// The best wall time of `reps` passes, and the mean CPU time per pass.
Timing measure(const std::function<void()>& pass, int reps) {
  pass();  // warm-up (and the weights cache's fill)
  Timing t{1e30, 0};
  const double c0 = cpu_now();
  for (int i = 0; i < reps; ++i) {
    const double w0 = wall_now();
    pass();
    t.wall = std::min(t.wall, wall_now() - w0);
  }
  t.cpu = (cpu_now() - c0) / reps;
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace
}  // namespace kvwb::kernels

int main(int argc, char** argv) {
  using namespace kvwb::kernels;
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const DType dtype = dtype_named(argc > 2 ? argv[2] : "q4_1");
  const std::vector<Shape>& one_layer = dtype_info(dtype).block_elems == 256 ? kWidth768Layer : kSmolLM2Layer;
  const int layers = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
  std::vector<int64_t> ns;
  for (const char* p = argc > 4 ? argv[4] : "128,512"; *p != '\0';) {
    char* end = nullptr;
    ns.push_back(std::strtoll(p, &end, 10));
    p = *end == ',' ? end + 1 : end;
    if (ns.back() <= 0 || (*end != ',' && *end != '\0')) {
      std::fprintf(stderr, "prefill_gemm_probe: N must be positive integers separated by commas\n");
      return 2;
    }
  }
  std::vector<Shape> kLayer;
  for (int l = 0; l < layers; ++l) kLayer.insert(kLayer.end(), one_layer.begin(), one_layer.end());
  const char* env_threads = std::getenv("OMP_NUM_THREADS");
  const int threads = env_threads != nullptr ? std::atoi(env_threads) : 2;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  struct Weights {
    std::vector<float> f32;
    std::vector<uint8_t> quantized;
  };
  std::vector<Weights> layer;
  for (const Shape& s : kLayer) {
    Weights w;
    w.f32.resize(static_cast<size_t>(s.rows * s.cols));
    for (float& v : w.f32) v = dist(rng);
    w.quantized.resize(dtype_bytes(dtype, s.rows * s.cols));
    fill_blocks(dtype, w.quantized, rng);
    layer.push_back(std::move(w));
  }
  auto cached = make_cpu_backend(threads);
  auto uncached = make_cpu_backend(threads, 0);
  auto fast = make_cpu_backend(threads, 0, MatmulMode::fast);
  std::vector<Matrix> q_cached, q_uncached, q_fast;
  for (size_t i = 0; i < layer.size(); ++i) {
    const Matrix m{dtype, kLayer[i].rows, kLayer[i].cols, layer[i].quantized.data()};
    q_cached.push_back(cached->upload(m));
    q_uncached.push_back(uncached->upload(m));
    q_fast.push_back(fast->upload(m));
  }
  std::printf("prefill GEMM probe: %d x one %s layer, %s weights, %d threads, kernels %s, load average %s\n", layers,
              dtype_info(dtype).block_elems == 256 ? "width-768 Llama" : "SmolLM2-135M",
              std::string(dtype_info(dtype).name).c_str(), threads, std::string(kvwb::kernels::cpu::isa_name(kvwb::kernels::cpu::active_isa())).c_str(),
              load_average().c_str());
  std::printf("%6s | %-22s | %-22s | %-22s | %-22s | %s\n", "n", "OpenBLAS sgemm f32", "kvwb cached", "kvwb uncached",
              "kvwb fast", "kvwb/sgemm (cached, uncached, fast)");
  std::printf("%6s | %-22s | %-22s | %-22s | %-22s |\n", "", "wall GFLOP/s, /CPU-s", "wall GFLOP/s, /CPU-s",
              "wall GFLOP/s, /CPU-s", "wall GFLOP/s, /CPU-s");
  for (int64_t n : ns) {
    double flops = 0;
    int64_t widest = 0;
    for (const Shape& s : kLayer) {
      flops += 2.0 * static_cast<double>(n * s.rows * s.cols);
      widest = std::max(widest, s.cols);
    }
    int64_t tallest = 0;
    for (const Shape& s : kLayer) tallest = std::max(tallest, s.rows);
    std::vector<float> x(static_cast<size_t>(n * widest)), y(static_cast<size_t>(n * tallest));
    for (float& v : x) v = dist(rng);
    auto sgemm_pass = [&] {
      openblas_set_num_threads(threads);
      for (size_t i = 0; i < layer.size(); ++i) {
        const Shape s = kLayer[i];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(s.rows),
                    static_cast<int>(s.cols), 1.0f, x.data(), static_cast<int>(s.cols), layer[i].f32.data(),
                    static_cast<int>(s.cols), 0.0f, y.data(), static_cast<int>(s.rows));
      }
    };
    auto kvwb_pass = [&](Backend& b, const std::vector<Matrix>& ws) {
      return [&b, &ws, &x, &y, n] {
        for (const Matrix& w : ws) b.matmul(x.data(), n, w, nullptr, y.data());
      };
    };
    const int reps = std::max(2, static_cast<int>(2e9 / flops));
    const std::function<void()> passes[] = {sgemm_pass, kvwb_pass(*cached, q_cached), kvwb_pass(*uncached, q_uncached),
                                            kvwb_pass(*fast, q_fast)};
    constexpr int kPasses = 4;
    std::vector<double> wall[kPasses], per_cpu[kPasses], ratio[kPasses];
    for (int r = 0; r < rounds; ++r) {
      Timing t[kPasses];
      // Alternate the order so that the load is shared fairly.
      for (int k = 0; k < kPasses; ++k) {
        const int which = r % 2 == 0 ? k : kPasses - 1 - k;
        t[which] = measure(passes[which], reps);
      }
      for (int k = 0; k < kPasses; ++k) {
        wall[k].push_back(flops / t[k].wall / 1e9);
        per_cpu[k].push_back(flops / t[k].cpu / 1e9);
        ratio[k].push_back(t[0].wall / t[k].wall);
      }
    }
    std::printf("%6lld", static_cast<long long>(n));
    for (int k = 0; k < kPasses; ++k) std::printf(" | %9.1f, %10.1f", median(wall[k]), median(per_cpu[k]));
    std::printf(" | %.2f, %.2f, %.2f\n", median(ratio[1]), median(ratio[2]), median(ratio[3]));
  }
  std::printf("load average after: %s\n", load_average().c_str());
  return 0;
}
