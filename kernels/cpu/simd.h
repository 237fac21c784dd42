// Small AVX2/FMA/F16C helpers shared by the CPU kernels, in the namespace of each AVX pass
// (isa_pass.h includes this file before each pass's kernel file; no include guard). The kernels
// test KVWB_CPU_AVX2 and fall back to plain scalar loops where it is 0 (the portable pass).
#include <cmath>
#include <cstdint>
#include <cstring>

namespace kvwb::kernels::cpu::KVWB_ISA_NS {

#if KVWB_CPU_AVX2

// Eight consecutive f16 / bf16 values widened to f32 (unaligned loads).
inline __m256 load8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8_bf16(const uint16_t* p) {
  // bf16 is the top half of an f32: zero-extend to 32 bits and shift into place.
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline __m256 load8(const uint16_t* p, bool bf16) { return bf16 ? load8_bf16(p) : load8_f16(p); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The horizontal sums of eight vectors, as one vector: lane i = hsum(v[i]).
inline __m256 hsum8(const __m256 v[8]) {
  const __m256 a = _mm256_hadd_ps(v[0], v[1]);  // per 128-bit half: pairs of 0,0,1,1 | 0,0,1,1
  const __m256 b = _mm256_hadd_ps(v[2], v[3]);
  const __m256 c = _mm256_hadd_ps(v[4], v[5]);
  const __m256 d = _mm256_hadd_ps(v[6], v[7]);
  const __m256 ab = _mm256_hadd_ps(a, b);  // lanes: 0 1 2 3 (low halves) | 0 1 2 3 (high halves)
  const __m256 cd = _mm256_hadd_ps(c, d);
  const __m256 lo = _mm256_permute2f128_ps(ab, cd, 0x20);  // low halves of ab, cd
  const __m256 hi = _mm256_permute2f128_ps(ab, cd, 0x31);  // high halves
  return _mm256_add_ps(lo, hi);
}

// exp(x) for eight lanes (Taylor polynomial of degree 7 on |r| <= ln2/2 after x = n·ln2 + r):
// relative error below 1.4 u (7.9e-8) over every f32 input in [-87.3, ln(FLT_MAX)], checked
// over all of them (docs/reliability.md, "Tolerances"). Lanes below -87.3 (where exp underflows
// to a denormal), including -inf, give exactly 0; lanes above ln(FLT_MAX) give +inf.
inline __m256 exp8(__m256 x) {
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 ln2_hi = _mm256_set1_ps(0.693145751953125f);  // few mantissa bits: n·ln2_hi is exact
  const __m256 ln2_lo = _mm256_set1_ps(1.42860682030941723e-6f);
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  const __m256 max_arg = _mm256_set1_ps(88.7228317f);  // the largest float whose exp is finite
  const __m256 overflow = _mm256_cmp_ps(x, max_arg, _CMP_GT_OQ);
  const __m256 xc = _mm256_max_ps(_mm256_min_ps(x, max_arg), _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, ln2_hi, xc);
  r = _mm256_fnmadd_ps(n, ln2_lo, r);
  // Horner form of sum r^k / k!, k = 0..7.
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // Scale by 2^n through the exponent field; n is in [-126, 128] here. 2^128 is not a float:
  // n = 128 (x above 127.5·ln2 = 88.376) scales by 2^127, then by 2 (exact, or +inf).
  const __m256 n_low = _mm256_min_ps(n, _mm256_set1_ps(127.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n_low), _mm256_set1_epi32(127)), 23);
  __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  result = _mm256_mul_ps(result, _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_sub_ps(n, n_low)));
  result = _mm256_andnot_ps(underflow, result);
  return _mm256_blendv_ps(result, _mm256_set1_ps(INFINITY), overflow);
}

#endif  // KVWB_CPU_AVX2

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS
