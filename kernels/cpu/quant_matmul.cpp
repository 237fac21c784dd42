// y[n, rows] = x[n, cols] · wᵀ (+ bias) for block-quantized weights (Q8_0, Q4_0, Q4_1, Q4_K,
// Q6_K). Activations stay f32 (no Q8 activation quantization as llama.cpp does), so results
// match a model whose weights were dequantized to f32 up front (what transformers does when it
// loads a GGUF) up to the order of f32 sums.
//   small n (decode): one weight row at a time, dotted with every input row while it is in L1:
//     Q8_0/Q4_0/Q4_1 straight from the packed bytes (quant_dot.h), the K types through a
//     dequantized f32 copy of the row (quant_fast.h);
//   larger n (prefill): a tile of rows is dequantized, then OpenBLAS sgemm uses it.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/quant.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace kvwb::kernels::cpu {
namespace {

// Up to this many inputs per weight row the row-at-a-time path is used: dequantizing is the
// expensive part there, and sgemm's packing would cost more than the few dot products.
constexpr int64_t kRowPathMaxN = 8;

float dot(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  float total = 0.0f;
#if KVWB_CPU_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), a1);
  }
  total = hsum(_mm256_add_ps(a0, a1));
#endif
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

bool parallel_rows(const Matrix& w, int threads) { return threads > 1 && w.rows * w.cols >= (int64_t{1} << 16); }

int64_t row_chunk(const Matrix& w, int threads) { return std::max<int64_t>(1, w.rows / (8 * std::max(threads, 1))); }

// Q8_0, Q4_0, Q4_1: dot products from the packed bytes, kMaxDotInputs inputs per pass over
// a chunk of rows.
void fused_row_path(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols, blocks = cols / 32;
  const size_t row_bytes = dtype_bytes(w.dtype, cols);
  std::vector<float> sums;
  if (needs_block_sums(w.dtype)) {
    sums.resize(static_cast<size_t>(n * blocks));
    for (int64_t i = 0; i < n; ++i) block_sums(x + i * cols, cols, sums.data() + i * blocks);
  }
  const int64_t chunk = row_chunk(w, threads);
  const int64_t chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) if (parallel_rows(w, threads)) schedule(dynamic)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t r0 = c * chunk;
    QuantDotArgs a;
    a.dtype = w.dtype;
    a.rows = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * row_bytes;
    a.row_count = std::min(chunk, rows - r0);
    a.cols = cols;
    a.x_stride = cols;
    a.sums_stride = blocks;
    a.y_stride = rows;
    for (int64_t i0 = 0; i0 < n; i0 += kMaxDotInputs) {
      a.x = x + i0 * cols;
      a.count = static_cast<int>(std::min<int64_t>(kMaxDotInputs, n - i0));
      a.sums = sums.empty() ? nullptr : sums.data() + i0 * blocks;
      a.y = y + i0 * rows + r0;
      quant_dot_rows(a);
    }
    if (bias != nullptr) {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t r = r0; r < r0 + a.row_count; ++r) y[i * rows + r] += bias[r];
      }
    }
  }
}

// The K types: each row dequantized into a per-thread f32 buffer first.
void dequantized_row_path(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const size_t row_bytes = dtype_bytes(w.dtype, cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t chunk = row_chunk(w, threads);
#pragma omp parallel num_threads(threads) if (parallel_rows(w, threads))
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(dynamic, chunk)
    for (int64_t r = 0; r < rows; ++r) {
      dequantize_row_fast(w.dtype, base + static_cast<size_t>(r) * row_bytes, row.data(), cols);
      const float b = bias != nullptr ? bias[r] : 0.0f;
      for (int64_t i = 0; i < n; ++i) y[i * rows + r] = dot(row.data(), x + i * cols, cols) + b;
    }
  }
}

// Rows per tile: about 512 KiB of f32 so a tile stays in L2 while sgemm reuses it.
int64_t tile_rows_for(int64_t cols) {
  const int64_t rows = (int64_t{1} << 17) / std::max<int64_t>(cols, 1);
  return std::clamp<int64_t>(rows / 16 * 16, 16, 512);
}

void tile_path(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const int64_t tile = tile_rows_for(cols);
  const int64_t tiles = (rows + tile - 1) / tile;
  const size_t row_bytes = dtype_bytes(w.dtype, cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  if (bias != nullptr) {
    for (int64_t i = 0; i < n; ++i) std::copy(bias, bias + rows, y + i * rows);
  }
  const float beta = bias != nullptr ? 1.0f : 0.0f;
  // Our OpenMP team calls sgemm from every thread: OpenBLAS runs serially meanwhile (two busy
  // thread pools on few cores slow each other down) and gets its count back afterwards.
  openblas_set_num_threads(1);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> buffer(static_cast<size_t>(tile * cols));
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t r0 = t * tile;
      const int64_t count = std::min(tile, rows - r0);
      for (int64_t r = 0; r < count; ++r) {
        dequantize_row_fast(w.dtype, base + static_cast<size_t>(r0 + r) * row_bytes, buffer.data() + r * cols, cols);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(count),
                  static_cast<int>(cols), 1.0f, x, static_cast<int>(cols), buffer.data(), static_cast<int>(cols),
                  beta, y + r0, static_cast<int>(rows));
    }
  }
  openblas_set_num_threads(threads);
}

}  // namespace

void quant_matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const DTypeInfo info = dtype_info(w.dtype);
  if (!is_quantized(w.dtype)) op_error("matmul", "quant_matmul called with plain dtype " + std::string(info.name));
  if (n < 0 || w.rows < 0 || w.cols < 0) op_error("matmul", "negative shape");
  if (w.cols % info.block_elems != 0) {
    op_error("matmul", std::string(info.name) + " rows of " + std::to_string(w.cols) +
                           " values are not whole blocks of " + std::to_string(info.block_elems));
  }
  if (n == 0 || w.rows == 0) return;
  if (w.cols == 0) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t r = 0; r < w.rows; ++r) y[i * w.rows + r] = bias != nullptr ? bias[r] : 0.0f;
    }
    return;
  }
  if (w.data == nullptr) op_error("matmul", "weight matrix has no data");
  if (n <= kRowPathMaxN && has_fused_dot(w.dtype)) {
    fused_row_path(x, n, w, bias, y, threads);
  } else if (n <= kRowPathMaxN) {
    dequantized_row_path(x, n, w, bias, y, threads);
  } else {
    tile_path(x, n, w, bias, y, threads);
  }
}

}  // namespace kvwb::kernels::cpu
