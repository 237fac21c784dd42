// Matrix-vector products for decode: y[n, rows] = x[n, cols] · wᵀ with n small. This is memory
// bound (every weight byte is used n times, once per input row), so the kernel's one job is to
// stream the weights at the machine's bandwidth: threads split the rows, each thread walks its
// rows four at a time and applies all n inputs to a 4-row strip while it is still in L1.

#include <algorithm>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/simd.h"
#include "kernels/half.h"

namespace kvwb::kernels::cpu {
namespace {

constexpr int64_t kStrip = 4;  // rows per strip: 4 weight streams + 1 x stream per thread

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

// dots[r] = Σ_c row_r[c] · x[c] for the R rows starting at `rows` (R = 1..kStrip).
template <DType DT, int R>
inline void strip_dots(const void* const* rows, const float* x, int64_t cols, float* dots) {
  int64_t c = 0;
#if KVWB_CPU_AVX2
  // Two accumulators per row hide the FMA latency; 16 columns per step.
  __m256 acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  for (; c + 16 <= cols; c += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + c);
    const __m256 x1 = _mm256_loadu_ps(x + c + 8);
    for (int r = 0; r < R; ++r) {
      acc0[r] = _mm256_fmadd_ps(widen8<DT>(rows[r], c), x0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(widen8<DT>(rows[r], c + 8), x1, acc1[r]);
    }
  }
  if (c + 8 <= cols) {
    const __m256 x0 = _mm256_loadu_ps(x + c);
    for (int r = 0; r < R; ++r) acc0[r] = _mm256_fmadd_ps(widen8<DT>(rows[r], c), x0, acc0[r]);
    c += 8;
  }
  for (int r = 0; r < R; ++r) dots[r] = hsum(_mm256_add_ps(acc0[r], acc1[r]));
#else
  for (int r = 0; r < R; ++r) dots[r] = 0.0f;
#endif
  for (; c < cols; ++c) {
    const float xc = x[c];
    for (int r = 0; r < R; ++r) dots[r] += widen<DT>(rows[r], c) * xc;
  }
}

template <DType DT>
void matvec_typed(const float* x, int64_t n, const Matrix& w, const float* bias, float* y,
                  int threads) {
  const int64_t rows = w.rows, cols = w.cols;
  const size_t row_bytes = dtype_bytes(DT, cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t strips = (rows + kStrip - 1) / kStrip;
  // Below ~64K weights a parallel region costs more than it saves.
  const bool parallel = threads > 1 && rows * cols >= (int64_t{1} << 16);
  // About 8 chunks per thread, handed out dynamically: each chunk is still a long sequential
  // stream, and a thread that the OS preempts holds up at most one chunk, not half the matrix.
  const int64_t chunk = std::max<int64_t>(1, strips / (8 * std::max(threads, 1)));
#pragma omp parallel for schedule(dynamic, chunk) num_threads(threads) if (parallel)
  for (int64_t s = 0; s < strips; ++s) {
    const int64_t r0 = s * kStrip;
    const int64_t count = std::min(kStrip, rows - r0);
    const void* strip[kStrip];
    for (int64_t r = 0; r < count; ++r) strip[r] = base + static_cast<size_t>(r0 + r) * row_bytes;
    float dots[kStrip];
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * cols;
      if (count == kStrip) {
        strip_dots<DT, kStrip>(strip, xi, cols, dots);
      } else {
        for (int64_t r = 0; r < count; ++r) strip_dots<DT, 1>(&strip[r], xi, cols, &dots[r]);
      }
      float* yi = y + i * rows + r0;
      for (int64_t r = 0; r < count; ++r) yi[r] = dots[r] + (bias != nullptr ? bias[r0 + r] : 0.0f);
    }
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

}  // namespace kvwb::kernels::cpu
