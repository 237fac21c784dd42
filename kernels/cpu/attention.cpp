// Paged attention over per-(sequence, KV head) block tables, with the attention statistics that
// eviction policies read. Work is split by CSR row (one sequence's KV head) and, for long
// prefill chunks, by runs of kTokensPerItem tokens within a row, so that one sequence's prefill
// keeps every core busy. No two threads update the same statistics: a row's first run adds to
// the pool directly, later runs add to private buffers that are merged, in run order, after the
// parallel loop. The split depends only on the batch, never on the thread count, so results are
// the same for any number of threads.
//
// Within a row, the queries (the sequence's tokens x the group's query heads) go in tiles of
// about 32. For a tile: (1) scores S = q·kᵀ·scale block by block (a K block stays in L1 while
// every query of the tile uses it), invisible slots (slot_pos > token_pos) get -inf; (2) an
// exact softmax per query over its row of S; (3) out = P·V block by block; (4) where observed,
// the normalised probabilities go into the slot statistics. Keeping S for the whole tile
// (32 x slots floats, 1 MiB at 8k slots) makes step 4 free instead of a second pass over K.
//
// K and V blocks of another dtype than f32 are widened one block at a time into a per-thread
// buffer (block_size x head_dim floats, in L1) right before the block's dot products and P·V
// (this pass's dequantize_row_fast: the values dequantize_row defines, vectorised on the AVX
// passes). The cache is never copied to f32 as a whole, and the arithmetic after the widening
// is the f32 kernel's, so a quantized pool gives exactly what the f32 kernel gives on its
// dequantized values.
#ifndef KVWB_ISA_PASS
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/isa_kernels.h"

#define KVWB_ISA_FILE "kernels/cpu/attention.cpp"
#include "kernels/cpu/isa_pass.h"
#else

#include "kernels/cpu/attention_kernels.h"

namespace kvwb::kernels::cpu::KVWB_ISA_NS {
namespace {

constexpr int64_t kQueriesPerTile = 32;
constexpr int64_t kTokensPerItem = 64;

// Tokens grouped by sequence, in batch order: tokens of sequence s are
// token[first[s] .. first[s + 1]).
struct TokensBySequence {
  std::vector<int32_t> first;
  std::vector<int32_t> token;
};

TokensBySequence group_tokens(const AttentionBatch& batch, int32_t num_seqs) {
  TokensBySequence g;
  g.first.assign(static_cast<size_t>(num_seqs) + 1, 0);
  for (int32_t t = 0; t < batch.num_tokens; ++t) ++g.first[static_cast<size_t>(batch.token_seq[t]) + 1];
  for (size_t s = 0; s < static_cast<size_t>(num_seqs); ++s) g.first[s + 1] += g.first[s];
  g.token.resize(static_cast<size_t>(batch.num_tokens));
  std::vector<int32_t> fill(g.first.begin(), g.first.end() - 1);
  for (int32_t t = 0; t < batch.num_tokens; ++t) g.token[static_cast<size_t>(fill[static_cast<size_t>(batch.token_seq[t])]++)] = t;
  return g;
}

// Everything that would make the kernel read out of bounds is rejected here, before the
// parallel region (an exception must not cross it).
int32_t validate(const AttentionBatch& batch, const PagedKv& kv) {
  if (kv.num_kv_heads <= 0 || kv.head_dim <= 0 || kv.block_size <= 0) {
    op_error("paged_attention", "invalid cache shape (kv heads " + std::to_string(kv.num_kv_heads) + ", head_dim " +
                                    std::to_string(kv.head_dim) + ", block_size " + std::to_string(kv.block_size) + ")");
  }
  check_kv_dtype("paged_attention", kv);
  if (batch.num_heads <= 0 || batch.num_heads % kv.num_kv_heads != 0) {
    op_error("paged_attention", std::to_string(batch.num_heads) + " query heads are not a multiple of " +
                                    std::to_string(kv.num_kv_heads) + " KV heads");
  }
  int32_t num_seqs = 0;
  for (int32_t t = 0; t < batch.num_tokens; ++t) {
    if (batch.token_seq[t] < 0) op_error("paged_attention", "token " + std::to_string(t) + " has a negative sequence row");
    num_seqs = std::max(num_seqs, batch.token_seq[t] + 1);
  }
  const int64_t rows = static_cast<int64_t>(num_seqs) * kv.num_kv_heads;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t blocks = static_cast<int64_t>(kv.indptr[r + 1]) - kv.indptr[r];
    if (kv.indptr[r] < 0 || blocks < 0) op_error("paged_attention", "indptr is not ascending at row " + std::to_string(r));
    if (kv.lengths[r] < 0 || kv.lengths[r] > blocks * kv.block_size) {
      op_error("paged_attention", "row " + std::to_string(r) + " has length " + std::to_string(kv.lengths[r]) +
                                      " but " + std::to_string(blocks) + " blocks of " + std::to_string(kv.block_size));
    }
    for (int64_t b = kv.indptr[r]; b < kv.indptr[r + 1]; ++b) {
      if (kv.indices[b] < 0) op_error("paged_attention", "negative block id at row " + std::to_string(r));
    }
  }
  return num_seqs;
}

// One row of the CSR: the blocks of (sequence, KV head) and how many slots are in use.
struct Row {
  const int32_t* blocks;
  int64_t length;
};

struct Tile {
  const int32_t* tokens;  // batch token ids of this tile
  int64_t num_tokens;
  int64_t group;          // query heads per KV head
  int64_t head0;          // first query head of the group
};

// Where a tile adds its statistics: into the pool (indexed by pool slot), or into a private
// buffer of the work item (indexed by the slot's place in the row).
struct StatsSink {
  float* sum;
  float* sq;
  float* obs;
  bool by_row_index;
};

// Per-thread buffers, reused from tile to tile.
struct Scratch {
  std::vector<float> scores;   // [tile queries, row length]
  std::vector<float> inv_sum;  // [tile queries] 1 / softmax denominator
  std::vector<float> rows;     // [block_size, head_dim] a K or V block widened to f32
};

// The first `count` rows of block `block` of a pool as f32: in place for an f32 pool, otherwise
// widened into scratch.rows.
const float* block_rows(const PagedKv& kv, const void* pool, int64_t block, int64_t count, Scratch& scratch) {
  const int64_t first = block * kv.block_size;
  const auto* bytes = static_cast<const uint8_t*>(pool) + static_cast<size_t>(first) * kv.row_bytes();
  if (kv.dtype == DType::F32) return reinterpret_cast<const float*>(bytes);
  scratch.rows.resize(static_cast<size_t>(kv.block_size) * static_cast<size_t>(kv.head_dim));
  KVWB_ISA_NS::dequantize_row_fast(kv.dtype, bytes, scratch.rows.data(), count * kv.head_dim);
  return scratch.rows.data();
}

// Attention for one tile of queries against one row.
void attend_tile(const AttentionBatch& batch, const float* q, const PagedKv& kv, const Row& row,
                 const Tile& tile, const StatsSink& sink, Scratch& scratch, float* out) {
  const int64_t D = kv.head_dim, bs = kv.block_size, H = batch.num_heads, G = tile.group;
  const int64_t nq = tile.num_tokens * G, len = row.length;
  std::vector<float>& scores = scratch.scores;
  scores.resize(static_cast<size_t>(nq * len));
  scratch.inv_sum.resize(static_cast<size_t>(nq));
  float* inv_sum = scratch.inv_sum.data();
  auto query = [&](int64_t i) { return q + (tile.tokens[i / G] * H + tile.head0 + i % G) * D; };
  auto output = [&](int64_t i) { return out + (tile.tokens[i / G] * H + tile.head0 + i % G) * D; };

  // (1) Scores, block by block, two queries at a time; invisible slots get -inf. Most blocks
  // lie wholly before the query, so the per-slot mask runs only where the block reaches past it.
  for (int64_t b = 0, j0 = 0; j0 < len; ++b, j0 += bs) {
    const int64_t block = row.blocks[b];
    const int64_t count = std::min(bs, len - j0);
    const float* k = block_rows(kv, kv.k_pool, block, count, scratch);
    const int32_t* spos = kv.slot_pos + block * bs;
    const int32_t block_max = *std::max_element(spos, spos + count);
    int64_t i = 0;
    for (; i + 2 <= nq; i += 2) {
      dot_rows2(query(i), query(i + 1), k, count, D, batch.scale, scores.data() + i * len + j0,
                scores.data() + (i + 1) * len + j0);
    }
    if (i < nq) dot_rows(query(i), k, count, D, batch.scale, scores.data() + i * len + j0);
    for (i = 0; i < nq; ++i) {
      const int32_t p = batch.token_pos[tile.tokens[i / G]];
      if (block_max <= p) continue;
      float* s = scores.data() + i * len + j0;
      for (int64_t j = 0; j < count; ++j) {
        if (spos[j] > p) s[j] = -std::numeric_limits<float>::infinity();
      }
    }
  }
  // (2) Softmax per query: scores become unnormalised probabilities; inv_sum[i] = 1 / Σ.
  for (int64_t i = 0; i < nq; ++i) inv_sum[i] = exp_normalise(scores.data() + i * len, len);
  // (3) out = P·V, block by block, two queries at a time so they share each load of V.
  for (int64_t i = 0; i < nq; ++i) std::fill_n(output(i), D, 0.0f);
  for (int64_t b = 0, j0 = 0; j0 < len; ++b, j0 += bs) {
    const int64_t count = std::min(bs, len - j0);
    const float* v = block_rows(kv, kv.v_pool, row.blocks[b], count, scratch);
    int64_t i = 0;
    for (; i + 2 <= nq; i += 2) {
      accumulate_rows2(scores.data() + i * len + j0, scores.data() + (i + 1) * len + j0, v, count, D, output(i),
                       output(i + 1));
    }
    if (i < nq) accumulate_rows(scores.data() + i * len + j0, v, count, D, D, output(i));
  }
  for (int64_t i = 0; i < nq; ++i) scale_row(output(i), D, inv_sum[i]);
  // (4) Statistics of the observed tokens, summed over the group's heads. Invisible slots have
  // probability exactly 0, so only n_obs needs the causal test.
  if (batch.observe == nullptr) return;
  for (int64_t ti = 0; ti < tile.num_tokens; ++ti) {
    const int32_t t = tile.tokens[ti];
    if (!batch.observe[t]) continue;
    const float* probs = scores.data() + ti * G * len;
    for (int64_t b = 0, j0 = 0; j0 < len; ++b, j0 += bs) {
      const int64_t count = std::min(bs, len - j0);
      const int64_t base = row.blocks[b] * bs;
      const int64_t at = sink.by_row_index ? j0 : base;
      add_statistics(probs + j0, len, inv_sum + ti * G, G, count, kv.slot_pos + base, batch.token_pos[t],
                     sink.sum + at, sink.sq + at, sink.obs + at);
    }
  }
}

// A run of one sequence's tokens against one of its rows. partial: offset of its private
// statistics (3 x row length floats) in the shared buffer, or -1 when it adds to the pool.
struct WorkItem {
  int64_t row;
  int64_t token_begin, token_end;
  int64_t partial;
};

struct WorkPlan {
  std::vector<WorkItem> items;     // grouped by row, runs in token order
  std::vector<int64_t> merge_rows;  // rows with private statistics, as indexes of their first item
  size_t partial_floats = 0;
};

WorkPlan plan_work(const AttentionBatch& batch, const PagedKv& kv, const TokensBySequence& by_seq, int64_t rows) {
  WorkPlan plan;
  for (int64_t r = 0; r < rows; ++r) {
    const size_t seq = static_cast<size_t>(r / kv.num_kv_heads);
    const int64_t n = by_seq.first[seq + 1] - by_seq.first[seq];
    if (n > kTokensPerItem && batch.observe != nullptr) plan.merge_rows.push_back(static_cast<int64_t>(plan.items.size()));
    for (int64_t t0 = 0; t0 < n; t0 += kTokensPerItem) {
      int64_t partial = -1;
      if (t0 > 0 && batch.observe != nullptr) {
        partial = static_cast<int64_t>(plan.partial_floats);
        plan.partial_floats += 3 * static_cast<size_t>(kv.lengths[r]);
      }
      plan.items.push_back({r, t0, std::min(n, t0 + kTokensPerItem), partial});
    }
  }
  return plan;
}

}  // namespace

void paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out, int threads) {
  if (batch.num_tokens <= 0) return;
  const int32_t num_seqs = validate(batch, kv);
  const TokensBySequence by_seq = group_tokens(batch, num_seqs);
  const int64_t KVH = kv.num_kv_heads, G = batch.num_heads / KVH, bs = kv.block_size;
  const int64_t tokens_per_tile = std::max<int64_t>(1, kQueriesPerTile / G);
  const WorkPlan plan = plan_work(batch, kv, by_seq, static_cast<int64_t>(num_seqs) * KVH);
  std::vector<float> partial(plan.partial_floats, 0.0f);
  const auto items = static_cast<int64_t>(plan.items.size());
#pragma omp parallel num_threads(threads) if (batch.num_tokens * batch.num_heads > 1)
  {
    Scratch scratch;
#pragma omp for schedule(dynamic)
    for (int64_t it = 0; it < items; ++it) {
      const WorkItem& item = plan.items[static_cast<size_t>(it)];
      const int64_t r = item.row;
      const int32_t* tokens = by_seq.token.data() + by_seq.first[static_cast<size_t>(r / KVH)];
      const Row row{kv.indices + kv.indptr[r], kv.lengths[r]};
      StatsSink sink{kv.att_sum, kv.att_sq, kv.n_obs, false};
      if (item.partial >= 0) {
        float* p = partial.data() + item.partial;
        sink = StatsSink{p, p + row.length, p + 2 * row.length, true};
      }
      for (int64_t t0 = item.token_begin; t0 < item.token_end; t0 += tokens_per_tile) {
        const Tile tile{tokens + t0, std::min(tokens_per_tile, item.token_end - t0), G, (r % KVH) * G};
        attend_tile(batch, q, kv, row, tile, sink, scratch, out);
      }
    }
    // Merge the private statistics into the pool, run by run (the barrier of the loop above
    // makes them complete).
#pragma omp for schedule(dynamic)
    for (size_t m = 0; m < plan.merge_rows.size(); ++m) {
      const int64_t first = plan.merge_rows[m];
      const int64_t r = plan.items[static_cast<size_t>(first)].row;
      const int64_t len = kv.lengths[r];
      const int32_t* blocks = kv.indices + kv.indptr[r];
      for (int64_t it = first + 1; it < items && plan.items[static_cast<size_t>(it)].row == r; ++it) {
        const float* p = partial.data() + plan.items[static_cast<size_t>(it)].partial;
        for (int64_t j = 0; j < len; ++j) {
          const int64_t slot = blocks[j / bs] * bs + j % bs;
          kv.att_sum[slot] += p[j];
          kv.att_sq[slot] += p[len + j];
          kv.n_obs[slot] += p[2 * len + j];
        }
      }
    }
  }
}

}  // namespace kvwb::kernels::cpu::KVWB_ISA_NS

#endif  // KVWB_ISA_PASS
