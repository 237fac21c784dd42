// y[n, rows] = x[n, cols] · wᵀ (+ bias). Small n (decode) is memory bound and goes to the
// matvec kernels, which read the stored weights (16-bit or block-quantized) once. Larger n
// (prefill, big batches) is compute bound and goes to OpenBLAS sgemm tile by tile, each tile of
// rows widened or dequantized into a per-thread f32 buffer that stays in cache. On the portable
// pass, whose conversions and dot products are scalar, sgemm runs on the f32 copy kept by the
// weights cache (weights_cache.h) for every n instead. MatmulMode::fast sends Q8_0, Q4_0 and Q4_1
// weights to the integer dot products (int8_dot.h) for up to kInt8MatmulMaxN input rows, on
// every pass; larger n stay on the exact path, which is faster there.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/int8_dot.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/cpu/quant_matmul.h"
#include "kernels/cpu/weights_cache.h"
#include "kernels/quant.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace kvwb::kernels::cpu {
namespace {

// Up to this many input rows the matvec kernel beats sgemm: weights are streamed once and
// reused from L1 for each input row. Measured on one core with 2048x768 weights from DRAM:
// f32 breaks even at n = 8 (1.28 ms both), f16 is still ahead at n = 12 (1.04 vs 1.19 ms)
// because sgemm on 16-bit weights also pays for widening them.
constexpr int64_t kMatvecMaxNF32 = 8;
constexpr int64_t kMatvecMaxN16 = 12;

// The largest n that goes to the matvec kernels rather than sgemm.
int64_t matvec_max_n(DType dtype) {
  if (!is_quantized(dtype)) return dtype == DType::F32 ? kMatvecMaxNF32 : kMatvecMaxN16;
  // The portable pass dots in scalar code: sgemm takes over as early as for the K types.
  return has_fused_dot(dtype) && active_isa() != Isa::Portable ? kFusedRowPathMaxN : kQuantRowPathMaxN;
}

// Rows per tile: at most about 512 KiB of f32, so a tile stays in L2 while sgemm reads it
// n / (its M blocking) times; a multiple of 16; and as many tiles as make every thread's share
// equal (a 192-row matrix in one tile kept one of two threads idle, a 576-row one in three
// tiles gave one thread twice the other's work).
int64_t tile_rows_for(int64_t rows, int64_t cols, int threads) {
  const int64_t max_rows = std::clamp<int64_t>((int64_t{1} << 17) / std::max<int64_t>(cols, 1) / 16 * 16, 16, 512);
  const int64_t t = std::max(threads, 1);
  const int64_t tiles = ((rows + max_rows - 1) / max_rows + t - 1) / t * t;
  return std::max<int64_t>(16, ((rows + tiles - 1) / tiles + 15) / 16 * 16);
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

// Each thread takes tiles of rows; f32 tiles are used in place, others are converted first.
void tiled_sgemm(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const int64_t tile = tile_rows_for(rows, cols, threads);
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
        matrix_rows_to_f32(w, r0, count, buffer.data());
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

void matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads,
            WeightsCache* cache, MatmulMode mode) {
  const DTypeInfo info = dtype_info(w.dtype);
  if (!is_quantized(w.dtype) && w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16) {
    op_error("matmul", "dtype " + std::string(info.name) + " not supported by the CPU backend yet");
  }
  if (n < 0 || w.rows < 0 || w.cols < 0) op_error("matmul", "negative shape");
  if (w.cols % info.block_elems != 0) {
    op_error("matmul", std::string(info.name) + " rows of " + std::to_string(w.cols) +
                           " values are not whole blocks of " + std::to_string(info.block_elems));
  }
  if (n == 0 || w.rows == 0) return;
  if (w.cols == 0) {  // an empty sum: y is the bias (or zero)
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t r = 0; r < w.rows; ++r) y[i * w.rows + r] = bias != nullptr ? bias[r] : 0.0f;
    }
    return;
  }
  if (w.data == nullptr) op_error("matmul", "weight matrix has no data");
  if (mode == MatmulMode::fast && has_int8_dot(w.dtype) && n <= kInt8MatmulMaxN) {
    return quant_matmul_int8(x, n, w, bias, y, threads);
  }
  // A copy exists only on the portable pass (worth_caching), where OpenBLAS's own vector code
  // on it beats the scalar row paths for any n.
  const float* cached = cache != nullptr ? cache->f32(w, threads) : nullptr;
  if (cached != nullptr) return tiled_sgemm(x, n, Matrix{DType::F32, w.rows, w.cols, cached}, bias, y, threads);
  if (n <= matvec_max_n(w.dtype)) {
    if (is_quantized(w.dtype)) return quant_matvec(x, n, w, bias, y, threads);
    return matvec(x, n, w, bias, y, threads);
  }
  tiled_sgemm(x, n, w, bias, y, threads);
}

}  // namespace kvwb::kernels::cpu
