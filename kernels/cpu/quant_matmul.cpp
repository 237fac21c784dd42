// y[n, rows] = x[n, cols] · wᵀ (+ bias) for block-quantized weights (Q8_0, Q4_0, Q4_1, Q4_K,
// Q6_K) and few input rows (decode). Activations stay f32 (no Q8 activation quantization as
// llama.cpp does), so results match a model whose weights were dequantized to f32 up front
// (what transformers does when it loads a GGUF) up to the order of f32 sums.
//   small n (decode): one weight row at a time, dotted with every input row while it is in L1:
//     Q8_0/Q4_0/Q4_1 straight from the packed bytes (quant_dot.h), the K types through a
//     dequantized f32 copy of the row (quant_fast.h);
//   larger n (prefill) goes to matmul.cpp's sgemm paths.
#ifndef KVWB_ISA_PASS
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/int8_dot.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/quant.h"
#include "kernels/cpu/isa_kernels.h"

#define KVWB_ISA_FILE "kernels/cpu/quant_matmul.cpp"
#include "kernels/cpu/isa_pass.h"
#else

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {

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

int64_t row_chunk_size(const Matrix& w, int threads) { return std::max<int64_t>(1, w.rows / (8 * std::max(threads, 1))); }

// Runs row_chunk(r0, count) over chunks of w's rows, in parallel when worth it, and adds the
// bias to the chunk's outputs y[i, r0 .. r0 + count) for every input i < n.
template <typename RowChunk>
void each_row_chunk(int64_t n, const Matrix& w, const float* bias, float* y, int threads, const RowChunk& row_chunk) {
  const int64_t rows = w.rows;
  const int64_t chunk = row_chunk_size(w, threads);
  const int64_t chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) if (parallel_rows(w, threads)) schedule(dynamic)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t r0 = c * chunk, count = std::min(chunk, rows - r0);
    row_chunk(r0, count);
    if (bias != nullptr) {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t r = r0; r < r0 + count; ++r) y[i * rows + r] += bias[r];
      }
    }
  }
}

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
  each_row_chunk(n, w, bias, y, threads, [&](int64_t r0, int64_t count) {
    QuantDotArgs a;
    a.dtype = w.dtype;
    a.rows = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * row_bytes;
    a.row_count = count;
    a.cols = cols;
    a.x_stride = cols;
    a.sums_stride = blocks;
    a.y_stride = rows;
    for (int64_t i0 = 0; i0 < n; i0 += kMaxDotInputs) {
      a.x = x + i0 * cols;
      a.count = static_cast<int>(std::min<int64_t>(kMaxDotInputs, n - i0));
      a.sums = sums.empty() ? nullptr : sums.data() + i0 * blocks;
      a.y = y + i0 * rows + r0;
      KVWB_ISA_NS::quant_dot_rows(a);
    }
  });
}

// The K types: each row dequantized into a per-thread f32 buffer first.
void dequantized_row_path(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const size_t row_bytes = dtype_bytes(w.dtype, cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t chunk = row_chunk_size(w, threads);
#pragma omp parallel num_threads(threads) if (parallel_rows(w, threads))
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(dynamic, chunk)
    for (int64_t r = 0; r < rows; ++r) {
      KVWB_ISA_NS::dequantize_row_fast(w.dtype, base + static_cast<size_t>(r) * row_bytes, row.data(), cols);
      const float b = bias != nullptr ? bias[r] : 0.0f;
      for (int64_t i = 0; i < n; ++i) y[i * rows + r] = dot(row.data(), x + i * cols, cols) + b;
    }
  }
}

}  // namespace

void quant_matmul_int8(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const size_t row_bytes = dtype_bytes(w.dtype, w.cols);
  const Int8Rows xq = quantize_rows_int8(x, n, w.cols);
  each_row_chunk(n, w, bias, y, threads, [&](int64_t r0, int64_t count) {
    Int8DotArgs a;
    a.dtype = w.dtype;
    a.rows = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * row_bytes;
    a.row_count = count;
    a.x = &xq;
    a.y_stride = w.rows;
    for (int64_t i0 = 0; i0 < n; i0 += kMaxInt8Inputs) {
      a.first = i0;
      a.count = static_cast<int>(std::min<int64_t>(kMaxInt8Inputs, n - i0));
      a.y = y + i0 * w.rows + r0;
      KVWB_ISA_NS::int8_dot_rows(a);
    }
  });
}

void quant_matvec(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  if (has_fused_dot(w.dtype)) {
    fused_row_path(x, n, w, bias, y, threads);
  } else {
    dequantized_row_path(x, n, w, bias, y, threads);
  }
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
