#ifndef KVWB_ISA_PASS
#include "kernels/cpu/quant_dot.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/half.h"
#include "kernels/quant.h"
#include "kernels/cpu/isa_kernels.h"

namespace kvwb::kernels::cpu {
namespace {

void check(const QuantDotArgs& a) {
  if (!has_fused_dot(a.dtype) || a.cols % 32 != 0 || a.count < 1 || a.count > kMaxDotInputs) {
    throw std::invalid_argument("quant_dot_rows: unsupported " + std::string(dtype_info(a.dtype).name) + " rows of " +
                                std::to_string(a.cols) + " values with " + std::to_string(a.count) + " inputs");
  }
}


}  // namespace

void block_sums(const float* x, int64_t cols, float* sums) {
  for (int64_t b = 0; b < cols / 32; ++b) {
    float s = 0.0f;
    for (int i = 0; i < 32; ++i) s += x[32 * b + i];
    sums[b] = s;
  }
}

void quant_dot_rows_portable(const QuantDotArgs& a) {
  check(a);
  const size_t block_bytes = static_cast<size_t>(dtype_info(a.dtype).block_bytes);
  const int64_t blocks = a.cols / 32;
  for (int64_t r = 0; r < a.row_count; ++r) {
    const auto* row = static_cast<const uint8_t*>(a.rows) + static_cast<size_t>(r * blocks) * block_bytes;
    for (int j = 0; j < a.count; ++j) {
      const float* xj = a.x + j * a.x_stride;
      float total = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* p = row + static_cast<size_t>(b) * block_bytes;
        const float* xb = xj + 32 * b;
        float t = 0.0f;
        if (a.dtype == DType::Q8_0) {
          const auto* qs = reinterpret_cast<const int8_t*>(p + 2);
          for (int i = 0; i < 32; ++i) t += static_cast<float>(qs[i]) * xb[i];
          total += f16_at(p) * t;
        } else {
          const uint8_t* qs = p + (a.dtype == DType::Q4_1 ? 4 : 2);
          const int offset = a.dtype == DType::Q4_0 ? 8 : 0;
          for (int i = 0; i < 16; ++i) {
            t += static_cast<float>((qs[i] & 0xF) - offset) * xb[i];
            t += static_cast<float>((qs[i] >> 4) - offset) * xb[i + 16];
          }
          total += f16_at(p) * t;
          if (a.dtype == DType::Q4_1) total += f16_at(p + 2) * a.sums[j * a.sums_stride + b];
        }
      }
      a.y[j * a.y_stride + r] = total;
    }
  }
}

}  // namespace kvwb::kernels::cpu

#define KVWB_ISA_FILE "kernels/cpu/quant_dot.cpp"
#include "kernels/cpu/isa_pass.h"
#else

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {

#if KVWB_CPU_AVX2

// The 32 integers of a block as four vectors of 8 floats, in quant.h's value order.
inline void q4_values(const uint8_t* qs, int32_t offset, __m256 q[4]) {
  // Bytes 0-7 and 8-15 widened to 32 bits: their low nibbles are values 0-15, their high
  // nibbles values 16-31.
  const __m256i b0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs)));
  const __m256i b1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8)));
  const __m256i low = _mm256_set1_epi32(0xF), off = _mm256_set1_epi32(offset);
  q[0] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b0, low), off));
  q[1] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b1, low), off));
  q[2] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b0, 4), off));
  q[3] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b1, 4), off));
}

inline void q8_values(const int8_t* qs, __m256 q[4]) {
  for (int k = 0; k < 4; ++k) {
    q[k] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8 * k))));
  }
}

// Adds block b of the row, dotted with K inputs, to acc; for Q4_1 lane 1 of mins[j] gathers
// m·s_b (lane 0 collects d·s_b, unused: one fused multiply-add of [d, m] serves both).
template <DType T, int K>
__attribute__((always_inline)) inline void add_block(const uint8_t* p, const float* xb, int64_t x_stride,
                                                     const float* sums, int64_t b, int64_t sums_stride,
                                                     __m256 (&acc)[K], __m128 (&mins)[K]) {
  // The f16 scale (and min) widened in one conversion: lanes [d, m, ., .].
  int32_t scales;
  std::memcpy(&scales, p, 4);
  const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128(scales));
  const __m256 vd = _mm256_broadcastss_ps(dm);
  __m256 q[4];
  if constexpr (T == DType::Q8_0) {
    q8_values(reinterpret_cast<const int8_t*>(p + 2), q);
  } else if constexpr (T == DType::Q4_0) {
    q4_values(p + 2, 8, q);
  } else {
    q4_values(p + 4, 0, q);
  }
  for (int j = 0; j < K; ++j) {
    const float* xj = xb + j * x_stride;
    // Two short chains instead of one of four dependent operations.
    const __m256 t01 = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(xj + 8), _mm256_mul_ps(q[0], _mm256_loadu_ps(xj)));
    const __m256 t23 = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(xj + 24), _mm256_mul_ps(q[2], _mm256_loadu_ps(xj + 16)));
    acc[j] = _mm256_fmadd_ps(vd, _mm256_add_ps(t01, t23), acc[j]);
    if constexpr (T == DType::Q4_1) mins[j] = _mm_fmadd_ps(dm, _mm_broadcast_ss(sums + j * sums_stride + b), mins[j]);
  }
}

// Every row against K inputs. With one input, even and odd blocks go to two accumulators so
// that consecutive blocks do not wait on each other's fused multiply-add.
template <DType T, int K>
void dot_avx2(const QuantDotArgs& a) {
  constexpr size_t kBlockBytes = static_cast<size_t>(dtype_info(T).block_bytes);
  const int64_t blocks = a.cols / 32;
  const auto* base = static_cast<const uint8_t*>(a.rows);
  for (int64_t r = 0; r < a.row_count; ++r) {
    const uint8_t* row = base + static_cast<size_t>(r * blocks) * kBlockBytes;
    __m256 acc[K], acc_odd[K];
    __m128 mins[K], mins_odd[K];
    for (int j = 0; j < K; ++j) {
      acc[j] = acc_odd[j] = _mm256_setzero_ps();
      mins[j] = mins_odd[j] = _mm_setzero_ps();
    }
    int64_t b = 0;
    if constexpr (K == 1) {
      for (; b + 2 <= blocks; b += 2) {
        add_block<T, K>(row + b * kBlockBytes, a.x + 32 * b, a.x_stride, a.sums, b, a.sums_stride, acc, mins);
        add_block<T, K>(row + (b + 1) * kBlockBytes, a.x + 32 * (b + 1), a.x_stride, a.sums, b + 1, a.sums_stride,
                        acc_odd, mins_odd);
      }
    }
    for (; b < blocks; ++b) {
      add_block<T, K>(row + b * kBlockBytes, a.x + 32 * b, a.x_stride, a.sums, b, a.sums_stride, acc, mins);
    }
    for (int j = 0; j < K; ++j) {
      const float min_total =
          T == DType::Q4_1 ? _mm_cvtss_f32(_mm_movehdup_ps(_mm_add_ps(mins[j], mins_odd[j]))) : 0.0f;
      a.y[j * a.y_stride + r] = hsum(_mm256_add_ps(acc[j], acc_odd[j])) + min_total;
    }
  }
}

template <DType T>
void dot_avx2_any(const QuantDotArgs& a) {
  switch (a.count) {
    case 1: return dot_avx2<T, 1>(a);
    case 2: return dot_avx2<T, 2>(a);
    case 3: return dot_avx2<T, 3>(a);
    default: return dot_avx2<T, 4>(a);
  }
}

#endif  // KVWB_CPU_AVX2

}  // namespace

void quant_dot_rows(const QuantDotArgs& a) {
#if KVWB_CPU_AVX2
  check(a);
  switch (a.dtype) {
    case DType::Q8_0: return dot_avx2_any<DType::Q8_0>(a);
    case DType::Q4_0: return dot_avx2_any<DType::Q4_0>(a);
    default: return dot_avx2_any<DType::Q4_1>(a);
  }
#else
  quant_dot_rows_portable(a);
#endif
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
