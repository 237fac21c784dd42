// Row-wise and element-wise ops: embedding lookup, RMSNorm, SwiGLU, residual add. All are
// memory bound; they use OpenMP only when the work is large enough to pay for a parallel region.
#ifndef KVWB_ISA_PASS
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/half.h"
#include "kernels/cpu/quant_fast.h"
#include "kernels/quant.h"
#include "kernels/cpu/isa_kernels.h"

#define KVWB_ISA_FILE "kernels/cpu/elementwise.cpp"
#include "kernels/cpu/isa_pass.h"
#else

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {

constexpr int64_t kParallelElems = int64_t{1} << 15;  // below this, one thread is faster

void widen_row(DType dtype, const void* src, int64_t cols, float* dst) {
  if (is_quantized(dtype)) return KVWB_ISA_NS::dequantize_row_fast(dtype, src, dst, cols);  // GGUF block types
  if (dtype == DType::F32) {
    std::memcpy(dst, src, static_cast<size_t>(cols) * sizeof(float));
    return;
  }
  const auto* s = static_cast<const uint16_t*>(src);
  const bool bf16 = dtype == DType::BF16;
  int64_t c = 0;
#if KVWB_CPU_AVX2
  for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(dst + c, load8(s + c, bf16));
#endif
  for (; c < cols; ++c) dst[c] = bf16 ? bf16_to_f32(s[c]) : f16_to_f32(s[c]);
}

float sum_of_squares(const float* x, int64_t dim) {
  int64_t i = 0;
  float total = 0.0f;
#if KVWB_CPU_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (; i + 16 <= dim; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_fmadd_ps(v0, v0, a0);
    a1 = _mm256_fmadd_ps(v1, v1, a1);
  }
  total = hsum(_mm256_add_ps(a0, a1));
#endif
  for (; i < dim; ++i) total += x[i] * x[i];
  return total;
}

}  // namespace

void embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out, int threads) {
  if (table.cols % dtype_info(table.dtype).block_elems != 0) {
    op_error("embedding", std::string(dtype_info(table.dtype).name) + " rows of " + std::to_string(table.cols) +
                              " values are not whole blocks");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= table.rows) {
      op_error("embedding", "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " +
                                std::to_string(table.rows));
    }
  }
  const size_t row_bytes = dtype_bytes(table.dtype, table.cols);
  const auto* base = static_cast<const uint8_t*>(table.data);
#pragma omp parallel for num_threads(threads) if (n * table.cols >= kParallelElems)
  for (int64_t i = 0; i < n; ++i) {
    widen_row(table.dtype, base + static_cast<size_t>(ids[i]) * row_bytes, table.cols, out + i * table.cols);
  }
}

void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out, int threads) {
  if (dim <= 0) op_error("rmsnorm", "dimension must be positive, got " + std::to_string(dim));
#pragma omp parallel for num_threads(threads) if (n * dim >= kParallelElems)
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * dim;
    float* o = out + r * dim;
    // As HF Llama computes it in f32: normalise first, then multiply by the weight.
    const float inv = 1.0f / std::sqrt(sum_of_squares(xr, dim) / static_cast<float>(dim) + eps);
    int64_t i = 0;
#if KVWB_CPU_AVX2
    const __m256 s = _mm256_set1_ps(inv);
    for (; i + 8 <= dim; i += 8) {
      _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), s), _mm256_loadu_ps(weight + i)));
    }
#endif
    for (; i < dim; ++i) o[i] = (xr[i] * inv) * weight[i];
  }
}

void swiglu(const float* gate, const float* up, int64_t n, float* out, int threads) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threads) if (n >= kParallelElems)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    int64_t i = ch * kChunk;
    const int64_t end = std::min(n, i + kChunk);
#if KVWB_CPU_AVX2
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= end; i += 8) {
      const __m256 g = _mm256_loadu_ps(gate + i);
      const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
      const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
#endif
    for (; i < end; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  }
}

void add(float* x, const float* y, int64_t n, int threads) {
#pragma omp parallel for simd num_threads(threads) if (n >= kParallelElems)
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
