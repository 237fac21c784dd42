#ifndef KVWB_ISA_PASS
#include "kernels/cpu/int8_dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/half.h"
#include "kernels/quant.h"
#include "kernels/cpu/isa_kernels.h"

namespace kvwb::kernels::cpu {

Int8Rows quantize_rows_int8(const float* x, int64_t n, int64_t cols) {
  Int8Rows out;
  out.n = n;
  out.cols = cols;
  const int64_t blocks = cols / 32;
  out.q.resize(static_cast<size_t>(n * cols));
  out.d.resize(static_cast<size_t>(n * blocks));
  out.s.resize(static_cast<size_t>(n * blocks + kMaxInt8Inputs));
  for (int64_t b = 0; b < n * blocks; ++b) {
    const float* xb = x + 32 * b;  // block b % blocks of input b / blocks
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float inv = d > 0.0f ? 1.0f / d : 0.0f;
    int32_t sum = 0;
    for (int i = 0; i < 32; ++i) {
      // x·inv is at most 127·(1 + 2u) in magnitude, so it rounds into [-127, 127].
      const auto q = static_cast<int32_t>(std::nearbyint(xb[i] * inv));
      out.q[static_cast<size_t>(32 * b + i)] = static_cast<int8_t>(std::clamp(q, -127, 127));
      sum += q;
    }
    out.d[static_cast<size_t>(b)] = d;
    out.s[static_cast<size_t>((b % blocks) * n + b / blocks)] = d * static_cast<float>(sum);
  }
  return out;
}

namespace int8_detail {

void check(const Int8DotArgs& a) {
  const int64_t cols = a.x != nullptr ? a.x->cols : 0;
  if (!has_int8_dot(a.dtype) || cols <= 0 || cols % 32 != 0 || a.count < 1 || a.count > kMaxInt8Inputs) {
    throw std::invalid_argument("int8_dot_rows: unsupported " + std::string(dtype_info(a.dtype).name) + " rows of " +
                                std::to_string(cols) + " values with " + std::to_string(a.count) + " inputs");
  }
}

}  // namespace int8_detail
}  // namespace kvwb::kernels::cpu

#define KVWB_ISA_FILE "kernels/cpu/int8_dot.cpp"
#include "kernels/cpu/isa_pass.h"
#else

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {


#if KVWB_CPU_AVX2

// Eight 32-bit sums of four products u·s each (u unsigned, s signed bytes): vpdpbusd on the
// avx512 pass; maddubs (pairs into 16 bits: at most 2·128·127, no saturation) and madd on avx2.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if KVWB_CPU_AVX512
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// The 32 four-bit values of 16 bytes in quant.h's order: low nibbles are values 0-15, high 16-31.
inline __m256i nibbles(const uint8_t* qs) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i low = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), low), _mm_and_si128(bytes, low));
}

// A block's f16 scale and min as [d, m, ., .] (F16C).
inline __m128 scale_min(const uint8_t* p) {
  int32_t both;
  std::memcpy(&both, p, 4);
  return _mm_cvtph_ps(_mm_cvtsi32_si128(both));
}

// One block of R rows against K inputs: acc[r][j] += (dw_r·dx_j)·Σ lanes, lane j of mins[r] +=
// mw_r·s_j (Q4_1; lane 1 of [d, m, ., .] broadcast).
// A signed weight block (Q8_0, Q4_0 after subtracting 8) enters the unsigned-by-signed product
// as |w| with the input's signs flipped where w < 0.
template <DType T, int R, int K>
__attribute__((always_inline)) inline void add_block(const uint8_t* const (&p)[R], const int8_t* xb, int64_t cols,
                                                     const float* dx, const float* sx, int64_t blocks,
                                                     __m256 (&acc)[R][K], __m128 (&mins)[R]) {
  for (int r = 0; r < R; ++r) {
    const __m128 dm = scale_min(p[r]);
    const float dw = _mm_cvtss_f32(dm);
    __m256i wu, wsign = _mm256_setzero_si256();
    if constexpr (T == DType::Q4_1) {
      wu = nibbles(p[r] + 4);
    } else {
      wsign = T == DType::Q8_0 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[r] + 2))
                               : _mm256_sub_epi8(nibbles(p[r] + 2), _mm256_set1_epi8(8));
      wu = _mm256_abs_epi8(wsign);  // -128 gives 0x80, read as the unsigned 128
    }
    for (int j = 0; j < K; ++j) {
      __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + j * cols));
      if constexpr (T != DType::Q4_1) x = _mm256_sign_epi8(x, wsign);
      const __m256 sum = _mm256_cvtepi32_ps(dot_u8s8(wu, x));
      acc[r][j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx[j * blocks]), sum, acc[r][j]);
    }
    // mw times the block's sums of the K inputs (lanes past K are unused), in one operation.
    if constexpr (T == DType::Q4_1) mins[r] = _mm_fmadd_ps(_mm_permute_ps(dm, 0x55), _mm_loadu_ps(sx), mins[r]);
  }
}

// Rows [r0, r0 + R) against K inputs.
template <DType T, int R, int K>
void dot_tile(const Int8DotArgs& a, int64_t r0) {
  constexpr size_t kBlockBytes = static_cast<size_t>(dtype_info(T).block_bytes);
  const int64_t cols = a.x->cols, blocks = cols / 32;
  const int8_t* xq = a.x->q.data() + a.first * cols;
  const float* xd = a.x->d.data() + a.first * blocks;
  const float* xs = a.x->s.data() + a.first;  // block b's sums at xs + b·n
  const auto* base = static_cast<const uint8_t*>(a.rows);
  __m256 acc[R][K];
  __m128 mins[R];
  for (int r = 0; r < R; ++r) {
    mins[r] = _mm_setzero_ps();
    for (int j = 0; j < K; ++j) acc[r][j] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* p[R];
    for (int r = 0; r < R; ++r) p[r] = base + static_cast<size_t>((r0 + r) * blocks + b) * kBlockBytes;
    add_block<T, R, K>(p, xq + 32 * b, cols, xd + b, xs + b * a.x->n, blocks, acc, mins);
  }
  for (int r = 0; r < R; ++r) {
    float min_terms[4];
    _mm_storeu_ps(min_terms, mins[r]);
    for (int j = 0; j < K; ++j) a.y[j * a.y_stride + r0 + r] = hsum(acc[r][j]) + (T == DType::Q4_1 ? min_terms[j] : 0.0f);
  }
}

// Every row against K inputs, two rows at a time (each input block loaded once for both).
template <DType T, int K>
void dot_rows(const Int8DotArgs& a) {
  int64_t r = 0;
  for (; r + 2 <= a.row_count; r += 2) dot_tile<T, 2, K>(a, r);
  if (r < a.row_count) dot_tile<T, 1, K>(a, r);
}

template <DType T>
void dot_rows_any(const Int8DotArgs& a) {
  switch (a.count) {
    case 1: return dot_rows<T, 1>(a);
    case 2: return dot_rows<T, 2>(a);
    case 3: return dot_rows<T, 3>(a);
    default: return dot_rows<T, 4>(a);
  }
}

#else  // the portable pass

void dot_rows_scalar(const Int8DotArgs& a) {
  const size_t block_bytes = static_cast<size_t>(dtype_info(a.dtype).block_bytes);
  const int64_t cols = a.x->cols, blocks = cols / 32;
  const auto* base = static_cast<const uint8_t*>(a.rows);
  for (int64_t r = 0; r < a.row_count; ++r) {
    const uint8_t* row = base + static_cast<size_t>(r * blocks) * block_bytes;
    for (int j = 0; j < a.count; ++j) {
      const int64_t in = a.first + j;
      const int8_t* xq = a.x->q.data() + in * cols;
      float total = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* p = row + static_cast<size_t>(b) * block_bytes;
        const int8_t* xb = xq + 32 * b;
        int32_t sum = 0;
        if (a.dtype == DType::Q8_0) {
          const auto* qs = reinterpret_cast<const int8_t*>(p + 2);
          for (int i = 0; i < 32; ++i) sum += qs[i] * xb[i];
        } else {
          const uint8_t* qs = p + (a.dtype == DType::Q4_1 ? 4 : 2);
          const int offset = a.dtype == DType::Q4_0 ? 8 : 0;
          for (int i = 0; i < 16; ++i) sum += ((qs[i] & 0xF) - offset) * xb[i] + ((qs[i] >> 4) - offset) * xb[i + 16];
        }
        total += f16_at(p) * a.x->d[static_cast<size_t>(in * blocks + b)] * static_cast<float>(sum);
        if (a.dtype == DType::Q4_1) total += f16_at(p + 2) * a.x->sum_at(in, b);
      }
      a.y[j * a.y_stride + r] = total;
    }
  }
}

#endif  // KVWB_CPU_AVX2

}  // namespace

void int8_dot_rows(const Int8DotArgs& a) {
  int8_detail::check(a);
#if KVWB_CPU_AVX2
  switch (a.dtype) {
    case DType::Q8_0: return dot_rows_any<DType::Q8_0>(a);
    case DType::Q4_0: return dot_rows_any<DType::Q4_0>(a);
    default: return dot_rows_any<DType::Q4_1>(a);
  }
#else
  dot_rows_scalar(a);
#endif
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
