// Matrix-vector products for decode: y[n, rows] = x[n, cols] · wᵀ with n small. This is memory
// bound (every weight byte is used n times, once per input row), so the kernel's one job is to
// stream the weights at the machine's bandwidth: threads take chunks of consecutive rows and
// read each chunk front to back as one sequential stream, applying all n inputs to a row while
// it is still in L1. (Interleaving 4 rows to share loads of x was measured slower for 16-bit
// rows of 768 columns: 4 short streams per page defeat the hardware prefetcher.)
#ifndef KVWB_ISA_PASS
#include <algorithm>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/half.h"
#include "kernels/cpu/isa_kernels.h"

#define KVWB_ISA_FILE "kernels/cpu/matvec.cpp"
#include "kernels/cpu/isa_pass.h"
#else

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {

template <DType DT>
inline float widen(const void* row, int64_t c) {
  if constexpr (DT == DType::F32) {
    return static_cast<const float*>(row)[c];
  } else if constexpr (DT == DType::F16) {
    return f16_to_f32(static_cast<const uint16_t*>(row)[c]);
  } else {
    return bf16_to_f32(static_cast<const uint16_t*>(row)[c]);
  }
}

#if KVWB_CPU_AVX2
template <DType DT>
inline __m256 widen8(const void* row, int64_t c) {
  if constexpr (DT == DType::F32) {
    return _mm256_loadu_ps(static_cast<const float*>(row) + c);
  } else if constexpr (DT == DType::F16) {
    return load8_f16(static_cast<const uint16_t*>(row) + c);
  } else {
    return load8_bf16(static_cast<const uint16_t*>(row) + c);
  }
}
#endif

// Σ_c row[c] · x[c].
template <DType DT>
inline float row_dot(const void* row, const float* x, int64_t cols) {
  int64_t c = 0;
  float dot = 0.0f;
#if KVWB_CPU_AVX2
  // Four accumulators hide the FMA latency; 32 columns per step.
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (; c + 32 <= cols; c += 32) {
    a0 = _mm256_fmadd_ps(widen8<DT>(row, c), _mm256_loadu_ps(x + c), a0);
    a1 = _mm256_fmadd_ps(widen8<DT>(row, c + 8), _mm256_loadu_ps(x + c + 8), a1);
    a2 = _mm256_fmadd_ps(widen8<DT>(row, c + 16), _mm256_loadu_ps(x + c + 16), a2);
    a3 = _mm256_fmadd_ps(widen8<DT>(row, c + 24), _mm256_loadu_ps(x + c + 24), a3);
  }
  for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(widen8<DT>(row, c), _mm256_loadu_ps(x + c), a0);
  dot = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#endif
  for (; c < cols; ++c) dot += widen<DT>(row, c) * x[c];
  return dot;
}

template <DType DT>
void matvec_typed(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const size_t row_bytes = dtype_bytes(DT, cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  // Below ~64K weights a parallel region costs more than it saves.
  const bool parallel = threads > 1 && rows * cols >= (int64_t{1} << 16);
  // About 8 chunks per thread, handed out dynamically: each chunk is still a long sequential
  // stream, and a thread that the OS preempts holds up at most one chunk, not half the matrix.
  const int64_t chunk = std::max<int64_t>(1, rows / (8 * std::max(threads, 1)));
#pragma omp parallel for schedule(dynamic, chunk) num_threads(threads) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const void* row = base + static_cast<size_t>(r) * row_bytes;
    const float b = bias != nullptr ? bias[r] : 0.0f;
    for (int64_t i = 0; i < n; ++i) y[i * rows + r] = row_dot<DT>(row, x + i * cols, cols) + b;
  }
}

}  // namespace

void matvec(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads) {
  switch (w.dtype) {
    case DType::F32: return matvec_typed<DType::F32>(x, n, w, bias, y, threads);
    case DType::F16: return matvec_typed<DType::F16>(x, n, w, bias, y, threads);
    case DType::BF16: return matvec_typed<DType::BF16>(x, n, w, bias, y, threads);
    default:
      op_error("matmul", "dtype " + std::string(dtype_info(w.dtype).name) +
                             " not supported by the CPU backend yet");
  }
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
