#pragma once
// The inner loops of paged attention (attention.cpp): dot products of one query with the rows
// of a K block, softmax of a score row, and the P·V accumulation. AVX2 with scalar twins.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/simd.h"

namespace kvwb::kernels::cpu {

// s[j] = scale · Σ_d q[d] · k[j·D + d] for j < count.
inline void dot_rows(const float* q, const float* k, int64_t count, int64_t D, float scale, float* s) {
  int64_t j = 0;
#if KVWB_CPU_AVX2
  const int64_t dv = D / 8 * 8;
  // Eight keys at a time share each load of q; one transposing reduction gives 8 scores.
  for (; j + 8 <= count; j += 8) {
    const float* kj = k + j * D;
    __m256 acc[8];
    for (int r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t d = 0; d < dv; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      for (int r = 0; r < 8; ++r) acc[r] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kj + r * D + d), acc[r]);
    }
    __m256 sums = hsum8(acc);
    if (dv < D) {
      alignas(32) float tail[8];
      for (int r = 0; r < 8; ++r) {
        float t = 0.0f;
        for (int64_t d = dv; d < D; ++d) t += q[d] * kj[r * D + d];
        tail[r] = t;
      }
      sums = _mm256_add_ps(sums, _mm256_load_ps(tail));
    }
    _mm256_storeu_ps(s + j, _mm256_mul_ps(sums, _mm256_set1_ps(scale)));
  }
  for (; j < count; ++j) {
    const float* kj = k + j * D;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t d = 0; d < dv; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kj + d), acc);
    float t = hsum(acc);
    for (int64_t d = dv; d < D; ++d) t += q[d] * kj[d];
    s[j] = t * scale;
  }
#else
  for (; j < count; ++j) {
    float t = 0.0f;
    for (int64_t d = 0; d < D; ++d) t += q[d] * k[j * D + d];
    s[j] = t * scale;
  }
#endif
}

// In place: s[j] = exp(s[j] - max s) (-inf gives 0). Returns 1 / Σ s[j], or 0 when every
// entry was -inf (a query that sees nothing: its output stays zero).
inline float exp_normalise(float* s, int64_t len) {
  float m = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
#if KVWB_CPU_AVX2
  __m256 mv = _mm256_set1_ps(m);
  for (; j + 8 <= len; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(s + j));
  m = hmax(mv);
#endif
  for (; j < len; ++j) m = std::max(m, s[j]);
  if (m == -std::numeric_limits<float>::infinity()) {
    std::fill_n(s, len, 0.0f);
    return 0.0f;
  }
  float sum = 0.0f;
  j = 0;
#if KVWB_CPU_AVX2
  const __m256 mb = _mm256_set1_ps(m);
  __m256 acc = _mm256_setzero_ps();
  for (; j + 8 <= len; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), mb));
    _mm256_storeu_ps(s + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  sum = hsum(acc);
#endif
  for (; j < len; ++j) {
    s[j] = std::exp(s[j] - m);
    sum += s[j];
  }
  return 1.0f / sum;
}

// out[d] += Σ_j p[j] · v[j·D + d] for j < count.
inline void accumulate_rows(const float* p, const float* v, int64_t count, int64_t D, float* out) {
  int64_t d = 0;
#if KVWB_CPU_AVX2
  // 32 output columns live in registers across the whole block.
  for (; d + 32 <= D; d += 32) {
    __m256 a0 = _mm256_loadu_ps(out + d), a1 = _mm256_loadu_ps(out + d + 8);
    __m256 a2 = _mm256_loadu_ps(out + d + 16), a3 = _mm256_loadu_ps(out + d + 24);
    for (int64_t j = 0; j < count; ++j) {
      const __m256 pj = _mm256_broadcast_ss(p + j);
      const float* vj = v + j * D + d;
      a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj), a0);
      a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8), a1);
      a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 16), a2);
      a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 24), a3);
    }
    _mm256_storeu_ps(out + d, a0);
    _mm256_storeu_ps(out + d + 8, a1);
    _mm256_storeu_ps(out + d + 16, a2);
    _mm256_storeu_ps(out + d + 24, a3);
  }
  for (; d + 8 <= D; d += 8) {
    __m256 a = _mm256_loadu_ps(out + d);
    for (int64_t j = 0; j < count; ++j) a = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j), _mm256_loadu_ps(v + j * D + d), a);
    _mm256_storeu_ps(out + d, a);
  }
#endif
  for (; d < D; ++d) {
    float a = out[d];
    for (int64_t j = 0; j < count; ++j) a += p[j] * v[j * D + d];
    out[d] = a;
  }
}

inline void scale_row(float* x, int64_t n, float f) {
  for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

}  // namespace kvwb::kernels::cpu
