// The inner loops of paged attention (attention.cpp): dot products of one query with the rows
// of a K block, softmax of a score row, and the P·V accumulation. AVX2 with scalar twins.
// Included by attention.cpp in each of its ISA passes (isa_pass.h), hence no include guard; the
// headers below were included before the first pass.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace kvwb::kernels::cpu::KVWB_ISA_NS {

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

// dot_rows for two queries at once: s0[j] = scale·q0·k_j, s1[j] = scale·q1·k_j. Four keys per
// step, so each K load feeds two FMAs and each q load four.
inline void dot_rows2(const float* q0, const float* q1, const float* k, int64_t count, int64_t D, float scale,
                      float* s0, float* s1) {
  int64_t j = 0;
#if KVWB_CPU_AVX2
  const int64_t dv = D / 8 * 8;
  if (dv == D) {
    const __m256 sc = _mm256_set1_ps(scale);
    for (; j + 4 <= count; j += 4) {
      const float* kj = k + j * D;
      __m256 acc[8];
      for (int r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
      for (int64_t d = 0; d < D; d += 8) {
        const __m256 a = _mm256_loadu_ps(q0 + d), b = _mm256_loadu_ps(q1 + d);
        for (int r = 0; r < 4; ++r) {
          const __m256 kv = _mm256_loadu_ps(kj + r * D + d);
          acc[r] = _mm256_fmadd_ps(a, kv, acc[r]);
          acc[4 + r] = _mm256_fmadd_ps(b, kv, acc[4 + r]);
        }
      }
      const __m256 sums = _mm256_mul_ps(hsum8(acc), sc);  // q0·k0..3 | q1·k0..3
      _mm_storeu_ps(s0 + j, _mm256_castps256_ps128(sums));
      _mm_storeu_ps(s1 + j, _mm256_extractf128_ps(sums, 1));
    }
  }
#endif
  if (j < count) {
    dot_rows(q0, k + j * D, count - j, D, scale, s0 + j);
    dot_rows(q1, k + j * D, count - j, D, scale, s1 + j);
  }
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

// out[d] += Σ_j p[j] · v[j·stride + d] for j < count, d < width.
inline void accumulate_rows(const float* p, const float* v, int64_t count, int64_t stride, int64_t width, float* out) {
  int64_t d = 0;
#if KVWB_CPU_AVX2
  // 32 output columns live in registers across the whole block.
  for (; d + 32 <= width; d += 32) {
    __m256 a0 = _mm256_loadu_ps(out + d), a1 = _mm256_loadu_ps(out + d + 8);
    __m256 a2 = _mm256_loadu_ps(out + d + 16), a3 = _mm256_loadu_ps(out + d + 24);
    for (int64_t j = 0; j < count; ++j) {
      const __m256 pj = _mm256_broadcast_ss(p + j);
      const float* vj = v + j * stride + d;
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
  for (; d + 8 <= width; d += 8) {
    __m256 a = _mm256_loadu_ps(out + d);
    for (int64_t j = 0; j < count; ++j) a = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j), _mm256_loadu_ps(v + j * stride + d), a);
    _mm256_storeu_ps(out + d, a);
  }
#endif
  for (; d < width; ++d) {
    float a = out[d];
    for (int64_t j = 0; j < count; ++j) a += p[j] * v[j * stride + d];
    out[d] = a;
  }
}

// out0 += Σ_j p0[j] · v_j and out1 += Σ_j p1[j] · v_j: accumulate_rows for two queries that
// share every load of V (4 loads feed 8 FMAs instead of 4).
inline void accumulate_rows2(const float* p0, const float* p1, const float* v, int64_t count, int64_t D,
                             float* out0, float* out1) {
  int64_t d = 0;
#if KVWB_CPU_AVX2
  for (; d + 32 <= D; d += 32) {
    __m256 a[4], b[4];
    for (int c = 0; c < 4; ++c) {
      a[c] = _mm256_loadu_ps(out0 + d + 8 * c);
      b[c] = _mm256_loadu_ps(out1 + d + 8 * c);
    }
    for (int64_t j = 0; j < count; ++j) {
      const __m256 pa = _mm256_broadcast_ss(p0 + j), pb = _mm256_broadcast_ss(p1 + j);
      const float* vj = v + j * D + d;
      for (int c = 0; c < 4; ++c) {
        const __m256 vv = _mm256_loadu_ps(vj + 8 * c);
        a[c] = _mm256_fmadd_ps(pa, vv, a[c]);
        b[c] = _mm256_fmadd_ps(pb, vv, b[c]);
      }
    }
    for (int c = 0; c < 4; ++c) {
      _mm256_storeu_ps(out0 + d + 8 * c, a[c]);
      _mm256_storeu_ps(out1 + d + 8 * c, b[c]);
    }
  }
#endif
  if (d < D) {  // the columns the 32-wide loop did not cover
    accumulate_rows(p0, v + d, count, D, D - d, out0 + d);
    accumulate_rows(p1, v + d, count, D, D - d, out1 + d);
  }
}

// Adds one token's attention to the statistics of `count` consecutive slots:
// sum[j] += Σ_g p_g[j]·inv[g], sq[j] += Σ_g (p_g[j]·inv[g])², obs[j] += G where the slot is
// visible (pos[j] <= token_pos). p_g = probs + g·stride holds unnormalised probabilities that
// are exactly 0 for invisible slots.
inline void add_statistics(const float* probs, int64_t stride, const float* inv, int64_t G, int64_t count,
                           const int32_t* pos, int32_t token_pos, float* sum, float* sq, float* obs) {
  int64_t j = 0;
#if KVWB_CPU_AVX2
  const __m256 group = _mm256_set1_ps(static_cast<float>(G));
  const __m256i limit = _mm256_set1_epi32(token_pos);
  for (; j + 8 <= count; j += 8) {
    __m256 s = _mm256_setzero_ps(), s2 = _mm256_setzero_ps();
    for (int64_t g = 0; g < G; ++g) {
      const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(probs + g * stride + j), _mm256_set1_ps(inv[g]));
      s = _mm256_add_ps(s, p);
      s2 = _mm256_fmadd_ps(p, p, s2);
    }
    const __m256i later = _mm256_cmpgt_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(pos + j)), limit);
    const __m256 seen = _mm256_andnot_ps(_mm256_castsi256_ps(later), group);
    _mm256_storeu_ps(sum + j, _mm256_add_ps(_mm256_loadu_ps(sum + j), s));
    _mm256_storeu_ps(sq + j, _mm256_add_ps(_mm256_loadu_ps(sq + j), s2));
    _mm256_storeu_ps(obs + j, _mm256_add_ps(_mm256_loadu_ps(obs + j), seen));
  }
#endif
  for (; j < count; ++j) {
    float s = 0.0f, s2 = 0.0f;
    for (int64_t g = 0; g < G; ++g) {
      const float p = probs[g * stride + j] * inv[g];
      s += p;
      s2 += p * p;
    }
    sum[j] += s;
    sq[j] += s2;
    if (pos[j] <= token_pos) obs[j] += static_cast<float>(G);
  }
}

inline void scale_row(float* x, int64_t n, float f) {
  for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS
