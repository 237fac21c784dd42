
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

// f16 / bf16 widen exactly, so the vector conversion equals the reference bit for bit.
void half_rows(const uint8_t* src, float* y, int64_t n, bool bf16) {
  const auto* h = reinterpret_cast<const uint16_t*>(src);  // load8 reads unaligned
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load8(h + i, bf16));
  if (i < n) dequantize_row(bf16 ? DType::BF16 : DType::F16, src + 2 * i, y + i, n - i);
}

// Eight bytes widened to 32-bit lanes. (A function, not a lambda: GCC gives lambdas no target
// attributes of their own, so a lambda here would not be an AVX function.)
inline __m256i bytes8(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }

// Q4_K: x = (d·sc)·q − dmin·mn per sub-block of 32, the two products rounded as the reference
// rounds them.
void q4_k_rows(const uint8_t* src, float* y, int64_t blocks) {
  const __m256i low = _mm256_set1_epi32(0xF);
  for (int64_t i = 0; i < blocks; ++i, src += sizeof(BlockQ4_K), y += 256) {
    BlockQ4_K b;
    std::memcpy(&b, src, sizeof b);
    const float d = _cvtsh_ss(b.d), dmin = _cvtsh_ss(b.dmin);
    for (int pair = 0; pair < 4; ++pair) {
      int sc_lo, mn_lo, sc_hi, mn_hi;
      q4_k_scale_min(b.scales, 2 * pair, sc_lo, mn_lo);
      q4_k_scale_min(b.scales, 2 * pair + 1, sc_hi, mn_hi);
      const __m256 ds_lo = _mm256_set1_ps(d * static_cast<float>(sc_lo)), m_lo = _mm256_set1_ps(dmin * static_cast<float>(mn_lo));
      const __m256 ds_hi = _mm256_set1_ps(d * static_cast<float>(sc_hi)), m_hi = _mm256_set1_ps(dmin * static_cast<float>(mn_hi));
      float* out = y + 64 * pair;
      for (int l = 0; l < 32; l += 8) {
        const __m256i q = bytes8(b.qs + 32 * pair + l);
        const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(q, low));
        const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(q, 4));
        _mm256_storeu_ps(out + l, _mm256_sub_ps(_mm256_mul_ps(ds_lo, lo), m_lo));
        _mm256_storeu_ps(out + l + 32, _mm256_sub_ps(_mm256_mul_ps(ds_hi, hi), m_hi));
      }
    }
  }
}

// Q6_K: x = (d·scale)·(q − 32), q six bits from ql (low four) and qh (high two); quant.h's layout.
void q6_k_rows(const uint8_t* src, float* y, int64_t blocks) {
  const __m256i low = _mm256_set1_epi32(0xF), two = _mm256_set1_epi32(3), bias = _mm256_set1_epi32(32);
  for (int64_t i = 0; i < blocks; ++i, src += sizeof(BlockQ6_K), y += 256) {
    BlockQ6_K b;
    std::memcpy(&b, src, sizeof b);
    const float d = _cvtsh_ss(b.d);
    // Eight values l .. l + 8 of each quarter of a half at a time (l < 32, the offset within the
    // half's 64 ql and 32 qh bytes); their scales are the half's sc[l / 16 + 2k].
    for (int at = 0; at < 64; at += 8) {
      const int half = at / 32, l = at % 32;
      const __m256i a = bytes8(b.ql + 64 * half + l), c = bytes8(b.ql + 64 * half + l + 32), h = bytes8(b.qh + at);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(a, low), _mm256_slli_epi32(_mm256_and_si256(h, two), 4)),
          _mm256_or_si256(_mm256_and_si256(c, low), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 2), two), 4)),
          _mm256_or_si256(_mm256_srli_epi32(a, 4), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 4), two), 4)),
          _mm256_or_si256(_mm256_srli_epi32(c, 4), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 6), two), 4))};
      for (int k = 0; k < 4; ++k) {
        const __m256 ds = _mm256_set1_ps(d * static_cast<float>(b.scales[8 * half + l / 16 + 2 * k]));
        const __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], bias));
        _mm256_storeu_ps(y + 128 * half + l + 32 * k, _mm256_mul_ps(ds, v));
      }
    }
  }
}

#endif  // KVWB_CPU_AVX2

}  // namespace

void dequantize_row_fast(DType dtype, const void* src, float* dst, int64_t n) {
#if KVWB_CPU_AVX2
  const auto* s = static_cast<const uint8_t*>(src);
  if (dtype == DType::F16 || dtype == DType::BF16) return half_rows(s, dst, n, dtype == DType::BF16);
  if (n % 32 == 0) {
    switch (dtype) {
      case DType::Q4_1: return q4_1_rows(s, dst, n / 32);
      case DType::Q4_0: return q4_0_rows(s, dst, n / 32);
      case DType::Q8_0: return q8_0_rows(s, dst, n / 32);
      default: break;
    }
  }
  if (n % 256 == 0) {
    switch (dtype) {
      case DType::Q4_K: return q4_k_rows(s, dst, n / 256);
      case DType::Q6_K: return q6_k_rows(s, dst, n / 256);
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
  const size_t row_bytes = dtype_bytes(w.dtype, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r0) * row_bytes;
  for (int64_t r = 0; r < count; ++r) KVWB_ISA_NS::dequantize_row_fast(w.dtype, base + static_cast<size_t>(r) * row_bytes, dst + r * w.cols, w.cols);
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
