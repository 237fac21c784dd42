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
    b.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
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
};

// Paged attention computed the obvious way: for each token and query head, walk its row's
// slots, softmax over the visible ones, weight V; add observed probabilities to the stats.
inline ReferenceResult reference_attention(const PagedScenario& s) {
  ReferenceResult r;
  const int32_t H = s.num_heads, D = s.head_dim, G = s.num_heads / s.num_kv_heads;
  r.out.assign(s.tokens.size() * static_cast<size_t>(H * D), 0.0);
  r.att_sum.assign(s.att_sum.begin(), s.att_sum.end());
  r.att_sq.assign(s.att_sq.begin(), s.att_sq.end());
  r.n_obs.assign(s.n_obs.begin(), s.n_obs.end());
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (size_t t = 0; t < s.tokens.size(); ++t) {
    const QueryToken& tok = s.tokens[t];
    for (int32_t h = 0; h < H; ++h) {
      const int32_t row = tok.seq * s.num_kv_heads + h / G;
      const float* qv = &s.q[(t * static_cast<size_t>(H) + static_cast<size_t>(h)) * static_cast<size_t>(D)];
      std::vector<int32_t> visible;
      std::vector<double> score;
      for (int32_t i = 0; i < s.lengths[static_cast<size_t>(row)]; ++i) {
        const int32_t slot = s.slot(row, i);
        if (s.slot_pos[static_cast<size_t>(slot)] > tok.pos) continue;
        double dot = 0.0;
        for (int32_t d = 0; d < D; ++d) dot += static_cast<double>(qv[d]) * s.k[static_cast<size_t>(slot * D + d)];
        visible.push_back(slot);
        score.push_back(dot * scale);
      }
      if (visible.empty()) continue;
      const double m = *std::max_element(score.begin(), score.end());
      double z = 0.0;
      for (double& x : score) z += (x = std::exp(x - m));
      double* o = &r.out[(t * static_cast<size_t>(H) + static_cast<size_t>(h)) * static_cast<size_t>(D)];
      for (size_t j = 0; j < visible.size(); ++j) {
        const double p = score[j] / z;
        for (int32_t d = 0; d < D; ++d) o[d] += p * s.v[static_cast<size_t>(visible[j] * D + d)];
        if (tok.observe) {
          r.att_sum[static_cast<size_t>(visible[j])] += p;
          r.att_sq[static_cast<size_t>(visible[j])] += p * p;
          r.n_obs[static_cast<size_t>(visible[j])] += 1.0;
        }
      }
    }
  }
  return r;
}

}  // namespace kvwb::kernels::test
