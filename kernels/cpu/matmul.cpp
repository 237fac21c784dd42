// y[n, rows] = x[n, cols] · wᵀ (+ bias). Small n (decode) is memory bound and goes to the
// matvec kernel; larger n (prefill) is compute bound and goes to OpenBLAS sgemm. f16/bf16
// weights are widened tile by tile (a strip of rows) into a per-thread f32 buffer that stays in
// cache, so the widening costs one pass over the weights while sgemm does n flops per weight.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/quant_matmul.h"
#include "kernels/quant.h"
#include "kernels/cpu/simd.h"
#include "kernels/half.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace kvwb::kernels::cpu {
namespace {

// Up to this many input rows the matvec kernel beats sgemm: weights are streamed once and
// reused from L1 for each input row. Measured on one core with 2048x768 weights from DRAM:
// f32 breaks even at n = 8 (1.28 ms both), f16 is still ahead at n = 12 (1.04 vs 1.19 ms)
// because sgemm on 16-bit weights also pays for widening them.
constexpr int64_t kMatvecMaxNF32 = 8;
constexpr int64_t kMatvecMaxN16 = 12;

// Widens `count` rows of a 16-bit weight matrix into dst[count, cols].
void widen_rows(const Matrix& w, int64_t r0, int64_t count, float* dst) {
  const auto* src = static_cast<const uint16_t*>(w.data) + r0 * w.cols;
  const int64_t total = count * w.cols;
  const bool bf16 = w.dtype == DType::BF16;
  int64_t i = 0;
#if KVWB_CPU_AVX2
  for (; i + 8 <= total; i += 8) _mm256_storeu_ps(dst + i, load8(src + i, bf16));
#endif
  for (; i < total; ++i) dst[i] = bf16 ? bf16_to_f32(src[i]) : f16_to_f32(src[i]);
}

// Rows per tile: about 512 KiB of f32, a multiple of 16, so a tile stays in L2 while sgemm
// reads it n / (its M blocking) times.
int64_t tile_rows_for(int64_t cols) {
  const int64_t rows = (int64_t{1} << 17) / std::max<int64_t>(cols, 1);
  return std::clamp<int64_t>(rows / 16 * 16, 16, 512);
}

// OpenBLAS runs single-threaded while our own OpenMP team calls it from every thread (one pool
// of threads at a time: two busy pools on few cores slow each other down), and gets its thread
// count back afterwards. The count is process-wide, as OpenBLAS keeps it.
class SerialBlas {
 public:
  explicit SerialBlas(int threads) : threads_(threads) { openblas_set_num_threads(1); }
  ~SerialBlas() { openblas_set_num_threads(threads_); }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int threads_;
};

void fill_bias(const float* bias, int64_t n, int64_t rows, float* y) {
  for (int64_t i = 0; i < n; ++i) std::copy(bias, bias + rows, y + i * rows);
}

// Each thread takes tiles of rows; f32 tiles are used in place, 16-bit tiles are widened first.
void tiled_sgemm(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const int64_t tile = tile_rows_for(cols);
  const int64_t tiles = (rows + tile - 1) / tile;
  const bool widen = w.dtype != DType::F32;
  const float beta = bias != nullptr ? 1.0f : 0.0f;
  if (bias != nullptr) fill_bias(bias, n, rows, y);
  SerialBlas serial(threads);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> buffer(widen ? static_cast<size_t>(tile * cols) : 0);
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * tile;
      const int64_t count = std::min(tile, rows - r0);
      const float* b = static_cast<const float*>(w.data) + r0 * cols;
      if (widen) {
        widen_rows(w, r0, count, buffer.data());
        b = buffer.data();
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(count),
                  static_cast<int>(cols), 1.0f, x, static_cast<int>(cols), b, static_cast<int>(cols), beta,
                  y + r0, static_cast<int>(rows));
    }
  }
}

}  // namespace

void set_blas_threads(int threads) { openblas_set_num_threads(threads); }

void matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  if (is_quantized(w.dtype)) return quant_matmul(x, n, w, bias, y, threads);  // GGUF block types
  if (w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16) {
    op_error("matmul", "dtype " + std::string(dtype_info(w.dtype).name) + " not supported by the CPU backend yet");
  }
  if (n < 0 || w.rows < 0 || w.cols < 0) op_error("matmul", "negative shape");
  if (n == 0 || w.rows == 0) return;
  if (w.cols == 0) {  // an empty sum: y is the bias (or zero)
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t r = 0; r < w.rows; ++r) y[i * w.rows + r] = bias != nullptr ? bias[r] : 0.0f;
    }
    return;
  }
  if (w.data == nullptr) op_error("matmul", "weight matrix has no data");
  if (n <= (w.dtype == DType::F32 ? kMatvecMaxNF32 : kMatvecMaxN16)) {
    matvec(x, n, w, bias, y, threads);
  } else {
    tiled_sgemm(x, n, w, bias, y, threads);
  }
}

}  // namespace kvwb::kernels::cpu
