
#ifndef KVWB_ISA_PASS
#include "kernels/cpu/quant_fast.h"

#include <cstring>

#include <algorithm>

#include "kernels/half.h"
#include "kernels/quant.h"
#include "kernels/cpu/isa_kernels.h"

#define KVWB_ISA_FILE "kernels/cpu/quant_fast.cpp"
#include "kernels/cpu/isa_pass.h"
#else

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {

#if KVWB_CPU_AVX2

inline __m256 scale8(uint16_t h) { return _mm256_set1_ps(_cvtsh_ss(h)); }

// The 32 nibbles of 16 bytes as 4 vectors of 8 values: elements 0-15 from the low nibbles,
// 16-31 from the high nibbles (quant.h's order).
inline void nibbles(const uint8_t* qs, __m256 out[4]) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(bytes, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
  out[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
  out[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
  out[2] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
  out[3] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
}

void q4_1_rows(const uint8_t* src, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, src += sizeof(BlockQ4_1), y += 32) {
    uint16_t d, m;
    std::memcpy(&d, src, 2);
    std::memcpy(&m, src + 2, 2);
    const __m256 vd = scale8(d), vm = scale8(m);
    __m256 q[4];
    nibbles(src + 4, q);
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(y + 8 * k, _mm256_add_ps(_mm256_mul_ps(vd, q[k]), vm));
  }
}

void q4_0_rows(const uint8_t* src, float* y, int64_t blocks) {
  const __m256 eight = _mm256_set1_ps(8.0f);
  for (int64_t i = 0; i < blocks; ++i, src += sizeof(BlockQ4_0), y += 32) {
    uint16_t d;
    std::memcpy(&d, src, 2);
    const __m256 vd = scale8(d);
    __m256 q[4];
    nibbles(src + 2, q);
    // (q - 8) is exact in f32, as the reference's integer subtraction.
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(vd, _mm256_sub_ps(q[k], eight)));
  }
}

void q8_0_rows(const uint8_t* src, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, src += sizeof(BlockQ8_0), y += 32) {
    uint16_t d;
    std::memcpy(&d, src, 2);
    const __m256 vd = scale8(d);
    for (int k = 0; k < 4; ++k) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 2 + 8 * k));
      _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  }
}

#endif  // KVWB_CPU_AVX2

}  // namespace

void dequantize_row_fast(DType dtype, const void* src, float* dst, int64_t n) {
#if KVWB_CPU_AVX2
  const auto* s = static_cast<const uint8_t*>(src);
  if (n % 32 == 0) {
    switch (dtype) {
      case DType::Q4_1: return q4_1_rows(s, dst, n / 32);
      case DType::Q4_0: return q4_0_rows(s, dst, n / 32);
      case DType::Q8_0: return q8_0_rows(s, dst, n / 32);
      default: break;
    }
  }
#endif
  dequantize_row(dtype, src, dst, n);
}

void matrix_rows_to_f32(const Matrix& w, int64_t r0, int64_t count, float* dst) {
  if (w.dtype == DType::F32) {
    const float* src = static_cast<const float*>(w.data) + r0 * w.cols;
    std::copy(src, src + count * w.cols, dst);
    return;
  }
  if (w.dtype == DType::F16 || w.dtype == DType::BF16) {
    const auto* src = static_cast<const uint16_t*>(w.data) + r0 * w.cols;
    const int64_t total = count * w.cols;
    const bool bf16 = w.dtype == DType::BF16;
    int64_t i = 0;
#if KVWB_CPU_AVX2
    for (; i + 8 <= total; i += 8) _mm256_storeu_ps(dst + i, load8(src + i, bf16));
#endif
    for (; i < total; ++i) dst[i] = bf16 ? bf16_to_f32(src[i]) : f16_to_f32(src[i]);
    return;
  }
  const size_t row_bytes = dtype_bytes(w.dtype, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * row_bytes;
  for (int64_t r = 0; r < count; ++r) KVWB_ISA_NS::dequantize_row_fast(w.dtype, base + static_cast<size_t>(r) * row_bytes, dst + r * w.cols, w.cols);
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
