#pragma once
// A paged KV cache laid out exactly as backend.h describes (CSR rows per (sequence, KV head),
// blocks scattered through the pool in random order), plus a batch of queries, plus a plain
// double-precision reference of paged attention and its statistics. Every slot not in use is
// poisoned: K, V and statistics NaN, position 0 (so a kernel that reads it sees a visible NaN
// key and fails the comparison).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace kvwb::kernels::test {

struct QueryToken {
  int32_t seq;
  int32_t pos;
  bool observe;
};

struct PagedScenario {
  int32_t num_kv_heads = 0, num_heads = 0, head_dim = 0, block_size = 0;
  int32_t num_blocks = 0;
  float scale = 0.0f;  // of the scores; 0: 1/sqrt(head_dim)
  std::vector<float> k, v, att_sum, att_sq, n_obs;  // pool, [num_blocks * block_size (* head_dim)]
  std::vector<int32_t> slot_pos;
  std::vector<uint8_t> used;                        // per pool slot
  std::vector<int32_t> indptr, indices, lengths;    // CSR over rows seq * num_kv_heads + head
  std::vector<QueryToken> tokens;
  std::vector<int32_t> token_seq, token_pos;
  std::vector<uint8_t> observe;
  std::vector<float> q;                             // [tokens, num_heads, head_dim]

  PagedKv view() {
    PagedKv kv;
    kv.num_kv_heads = num_kv_heads;
    kv.head_dim = head_dim;
    kv.block_size = block_size;
    kv.k_pool = k.data();
    kv.v_pool = v.data();
    kv.slot_pos = slot_pos.data();
    kv.att_sum = att_sum.data();
    kv.att_sq = att_sq.data();
    kv.n_obs = n_obs.data();
    kv.indptr = indptr.data();
    kv.indices = indices.data();
    kv.lengths = lengths.data();
    return kv;
  }
  AttentionBatch batch() const {
    AttentionBatch b;
    b.num_tokens = static_cast<int32_t>(tokens.size());
    b.num_heads = num_heads;
    b.token_seq = token_seq.data();
    b.token_pos = token_pos.data();
    b.observe = observe.data();
    b.scale = scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
    return b;
  }
  // Pool slot of the i-th entry of CSR row r.
  int32_t slot(int32_t row, int32_t i) const {
    return indices[static_cast<size_t>(indptr[static_cast<size_t>(row)] + i / block_size)] * block_size + i % block_size;
  }
};

// rows[seq * num_kv_heads + head] = the positions that (seq, head) holds, in slot order.
inline PagedScenario build_scenario(int32_t num_kv_heads, int32_t group, int32_t head_dim, int32_t block_size,
                                    const std::vector<std::vector<int32_t>>& rows,
                                    const std::vector<QueryToken>& tokens, uint32_t seed, int32_t spare_blocks = 3) {
  PagedScenario s;
  s.num_kv_heads = num_kv_heads;
  s.num_heads = num_kv_heads * group;
  s.head_dim = head_dim;
  s.block_size = block_size;
  std::vector<int32_t> blocks_of_row;
  for (const auto& r : rows) blocks_of_row.push_back((static_cast<int32_t>(r.size()) + block_size - 1) / block_size);
  s.num_blocks = std::accumulate(blocks_of_row.begin(), blocks_of_row.end(), 0) + spare_blocks;
  const size_t slots = static_cast<size_t>(s.num_blocks) * static_cast<size_t>(block_size);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  s.k.assign(slots * static_cast<size_t>(head_dim), nan);
  s.v.assign(slots * static_cast<size_t>(head_dim), nan);
  s.att_sum.assign(slots, nan);
  s.att_sq.assign(slots, nan);
  s.n_obs.assign(slots, nan);
  s.slot_pos.assign(slots, 0);
  s.used.assign(slots, 0);

  std::mt19937 rng(seed);
  std::vector<int32_t> order(static_cast<size_t>(s.num_blocks));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);  // rows get scattered, non-contiguous blocks
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f), stat(0.0f, 2.0f);
  s.indptr.push_back(0);
  size_t next_block = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int32_t b = 0; b < blocks_of_row[r]; ++b) s.indices.push_back(order[next_block++]);
    s.indptr.push_back(static_cast<int32_t>(s.indices.size()));
    s.lengths.push_back(static_cast<int32_t>(rows[r].size()));
    for (size_t i = 0; i < rows[r].size(); ++i) {
      const auto slot = static_cast<size_t>(s.slot(static_cast<int32_t>(r), static_cast<int32_t>(i)));
      s.used[slot] = 1;
      s.slot_pos[slot] = rows[r][i];
      for (int32_t d = 0; d < head_dim; ++d) {
        s.k[slot * static_cast<size_t>(head_dim) + static_cast<size_t>(d)] = unit(rng);
        s.v[slot * static_cast<size_t>(head_dim) + static_cast<size_t>(d)] = unit(rng);
      }
      // Statistics start non-zero: the kernel must add to them, not overwrite.
      s.att_sum[slot] = stat(rng);
      s.att_sq[slot] = stat(rng);
      s.n_obs[slot] = std::floor(stat(rng) * 10.0f);
    }
  }
  s.tokens = tokens;
  for (const QueryToken& t : tokens) {
    s.token_seq.push_back(t.seq);
    s.token_pos.push_back(t.pos);
    s.observe.push_back(t.observe ? 1 : 0);
  }
  s.q.resize(tokens.size() * static_cast<size_t>(s.num_heads * head_dim));
  for (float& x : s.q) x = unit(rng) * 2.0f;  // spread the scores so softmax is not flat
  return s;
}

struct ReferenceResult {
  std::vector<double> out;                      // [tokens, heads, head_dim]
  std::vector<double> att_sum, att_sq, n_obs;   // per pool slot (initial values + additions)
  // Bounds on |f32 kernel - reference| for each of the above (n_obs is exact), derived below.
  std::vector<double> out_bound, att_sum_bound, att_sq_bound;
};

// Paged attention computed the obvious way: for each token and query head, walk its row's
// slots, softmax over the visible ones, weight V; add observed probabilities to the stats.
//
// The error bounds, for a kernel that computes in f32 scores s_j = scale·(q·k_j), e_j =
// exp(s_j - max) with relative error `exp_error`, Z = Σ e_j, o = (Σ e_j·v_j)·(1/Z) and the
// probabilities p_j = e_j·(1/Z) it adds to the statistics, in any order of summation:
//  * a score is off by at most delta_j = gamma(D + 3)·scale·Σ_d |q_d·k_jd| (the dot product,
//    the f32 scale 1/sqrt(D) with two roundings, the multiply), and s_j - max by u·|s_j - max|
//    more, so e_j is off by a factor within exp(±eta_j), eta_j = delta_j + u·|s_j - max| +
//    exp_error (an e_j below exp(-87) may be flushed to 0: a relative error of 1);
//  * Z is then off by a relative z = Σ p_j·(exp(eta_j) - 1), and summing it and inverting add
//    gamma(n + 2) for n visible slots: p_j is off by a relative
//    r_j = exp(eta_j)·(1 + z / (1 - z))·(1 + gamma(n + 2)) - 1;
//  * o_d = Σ p_j·v_jd is off by at most Σ_j p_j·|v_jd|·(r_j + gamma(n + 1)·(1 + r_j));
//  * a statistic (its initial value plus c probabilities, or their squares) by the sum of the
//    terms' errors plus gamma(c + 1) times the sum of the terms' magnitudes.
inline ReferenceResult reference_attention(const PagedScenario& s, double exp_error = kExpRelError) {
  ReferenceResult r;
  const int32_t H = s.num_heads, D = s.head_dim, G = s.num_heads / s.num_kv_heads;
  r.out.assign(s.tokens.size() * static_cast<size_t>(H * D), 0.0);
  r.out_bound.assign(r.out.size(), 0.0);
  r.att_sum.assign(s.att_sum.begin(), s.att_sum.end());
  r.att_sq.assign(s.att_sq.begin(), s.att_sq.end());
  r.n_obs.assign(s.n_obs.begin(), s.n_obs.end());
  // Per slot: the additions' own errors, their magnitudes and how many there were.
  std::vector<double> sum_err(r.att_sum.size(), 0.0), sum_mag(r.att_sum.size(), 0.0);
  std::vector<double> sq_err(r.att_sum.size(), 0.0), sq_mag(r.att_sum.size(), 0.0), added(r.att_sum.size(), 0.0);
  const double scale = s.scale != 0.0f ? s.scale : 1.0 / std::sqrt(static_cast<double>(D));
  for (size_t t = 0; t < s.tokens.size(); ++t) {
    const QueryToken& tok = s.tokens[t];
    for (int32_t h = 0; h < H; ++h) {
      const int32_t row = tok.seq * s.num_kv_heads + h / G;
      const float* qv = &s.q[(t * static_cast<size_t>(H) + static_cast<size_t>(h)) * static_cast<size_t>(D)];
      std::vector<int32_t> visible;
      std::vector<double> score, delta;
      for (int32_t i = 0; i < s.lengths[static_cast<size_t>(row)]; ++i) {
        const int32_t slot = s.slot(row, i);
        if (s.slot_pos[static_cast<size_t>(slot)] > tok.pos) continue;
        const float* kv = &s.k[static_cast<size_t>(slot * D)];
        double dot = 0.0;
        for (int32_t d = 0; d < D; ++d) dot += static_cast<double>(qv[d]) * kv[d];
        visible.push_back(slot);
        score.push_back(dot * scale);
        delta.push_back(gamma_f32(D + 3) * scale * abs_dot(qv, kv, D));
      }
      if (visible.empty()) continue;
      const double n = static_cast<double>(visible.size());
      const double m = *std::max_element(score.begin(), score.end());
      std::vector<double> p(visible.size()), grow(visible.size());  // grow: exp(eta_j)
      double z = 0.0, z_err = 0.0;
      for (size_t j = 0; j < visible.size(); ++j) {
        const double x = score[j] - m;
        p[j] = std::exp(x);
        z += p[j];
        grow[j] = x < -87.0 ? 2.0 : std::exp(delta[j] + kF32Unit * std::fabs(x) + exp_error);
      }
      for (size_t j = 0; j < visible.size(); ++j) {
        p[j] /= z;
        z_err += p[j] * (grow[j] - 1.0);
      }
      double* o = &r.out[(t * static_cast<size_t>(H) + static_cast<size_t>(h)) * static_cast<size_t>(D)];
      double* ob = &r.out_bound[(t * static_cast<size_t>(H) + static_cast<size_t>(h)) * static_cast<size_t>(D)];
      for (size_t j = 0; j < visible.size(); ++j) {
        const double rel = grow[j] * (1.0 + z_err / (1.0 - z_err)) * (1.0 + gamma_f32(n + 2)) - 1.0;
        const auto slot = static_cast<size_t>(visible[j]);
        for (int32_t d = 0; d < D; ++d) {
          const double vd = s.v[slot * static_cast<size_t>(D) + static_cast<size_t>(d)];
          o[d] += p[j] * vd;
          ob[d] += p[j] * std::fabs(vd) * (rel + gamma_f32(n + 1) * (1.0 + rel));
        }
        if (tok.observe) {
          r.att_sum[slot] += p[j];
          r.att_sq[slot] += p[j] * p[j];
          r.n_obs[slot] += 1.0;
          sum_err[slot] += rel * p[j];
          sum_mag[slot] += (1.0 + rel) * p[j];
          sq_err[slot] += ((1.0 + rel) * (1.0 + rel) * (1.0 + kF32Unit) - 1.0) * p[j] * p[j];
          sq_mag[slot] += (1.0 + rel) * (1.0 + rel) * p[j] * p[j];
          added[slot] += 1.0;
        }
      }
    }
  }
  r.att_sum_bound.resize(r.att_sum.size());
  r.att_sq_bound.resize(r.att_sq.size());
  for (size_t i = 0; i < r.att_sum.size(); ++i) {
    const double g = gamma_f32(added[i] + 1);
    r.att_sum_bound[i] = sum_err[i] + g * (std::fabs(s.att_sum[i]) + sum_mag[i]);
    r.att_sq_bound[i] = sq_err[i] + g * (std::fabs(s.att_sq[i]) + sq_mag[i]);
  }
  return r;
}

}  // namespace kvwb::kernels::test
