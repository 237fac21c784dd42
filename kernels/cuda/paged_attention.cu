// Paged attention over per-(sequence, KV head) CSR block tables, and the attention statistics
// eviction policies read.
//
//   q, out:      [num_tokens, num_heads, head_dim]          f32
//   k/v_pool:    [num_blocks, block_size] rows of row_bytes in dtype (f32, f16, bf16, q8_0, q4_0)
//   slot_pos, att_sum, att_sq, n_obs: [num_blocks, block_size]
//   indptr:      [rows + 1], indices: [indptr[rows]], lengths: [rows]; row = seq * kv_heads + head
//   token_seq, token_pos, observe: [num_tokens]
//
// Work: one CTA per (item, KV head [x head chunk], split). An item is up to tokens_per_item
// consecutive tokens of one sequence (attention_plan.cu): one for decode, several for prefill
// chunks, so their K/V tiles are read once for all of them. All query heads of a GQA group sit
// in the same CTA, so each K/V block is read once per group. Long rows are cut into splits
// (decode of long contexts would otherwise run on too few SMs); each split keeps its own
// softmax max and sum, and attention_combine.cu merges them.
//
// Per tile of 32 slots: (1) slot ids and positions from the block table, every block id
// checked against the pool; a tile no query of the CTA can see is skipped; (2) K and V rows
// to shared memory with cp.async (missing slots zero-filled, so poisoned memory beyond a row's
// length is never read); rows of another dtype are widened to f32 on the way (kv_rows.cuh: the
// values the CPU's dequantize_row gives), so everything after the load is the f32 kernel;
// (3) scores q·k·scale, -inf where slot_pos > token_pos; (4) online
// softmax (running max m, sum l, and the factor that rescales the accumulator); (5) acc += P·V.
//
// Statistics need each slot's normalised probability, which split rows only know after the
// merge. They come from a second launch of the same kernel (kStats = true) for observed
// queries only: it recomputes the same scores (same code, same order, so the same bits), turns
// them into exp(s - m) / l with the final m and l, and adds them per slot. It reads K but not V.
#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/kv_rows.cuh"
#include "kernels/cuda/paged_attention.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kTile = 32;            // slots per tile; one per lane in the softmax step
constexpr int kMaxAcc = 16;          // output accumulators per thread
constexpr int kMaxQueryElems = kThreads * kMaxAcc;  // queries per CTA x head_dim
constexpr int kMaxQueries = 32;
constexpr int kMaxSplits = 64;
constexpr int64_t kMinSplitSlots = 256;  // below this a split costs more than it saves
static_assert(kTile == 32, "the softmax step maps one slot to one lane");

struct Params {
  int32_t num_tokens, num_heads, num_kv_heads, head_dim, block_size;
  int32_t group, heads_per_cta, head_chunks, tokens_per_item, queries_per_cta, dot_lanes, num_splits;
  bool vec4;  // f32 rows, head_dim % 4 == 0: rows move in 16-byte pieces
  DType dtype;
  int64_t row_bytes;
  float scale;
  const float* q;
  float* out;
  const int32_t* token_seq;
  const int32_t* token_pos;
  const uint8_t* observe;
  const uint8_t* k_pool;
  const uint8_t* v_pool;
  const int32_t* slot_pos;
  float* att_sum;
  float* att_sq;
  float* n_obs;
  const int32_t* indptr;
  const int32_t* indices;
  const int32_t* lengths;
  TableBounds bounds;
  const int32_t* items;
  const int32_t* num_items;
  float* part_o;
  float* part_m;
  float* part_l;
  float* lse_m;
  float* lse_l;
  DeviceErrorRecord* errors;
};

// Dynamic shared memory, in 4-byte words; every array starts 16-byte aligned.
struct SmemLayout {
  int k, v, q, s, m, l, corr, slot, spos, qpos, qtok, qhead, words;
};

__host__ __device__ inline int round4(int x) { return (x + 3) / 4 * 4; }
// Row strides: padding keeps lanes that read different rows on different banks; K rows stay
// a multiple of 16 bytes when head_dim allows 16-byte copies.
__host__ __device__ inline int k_stride(int D, bool vec4) { return vec4 ? D + 4 : D + 1; }
__host__ __device__ inline int q_stride(int D) { return D + 1; }

__host__ __device__ inline SmemLayout smem_layout(int nq, int D, bool vec4, bool stats) {
  SmemLayout L{};
  int o = 0;
  L.k = o;
  o += round4(kTile * k_stride(D, vec4));
  L.v = o;
  o += stats ? 0 : round4(kTile * D);
  L.q = o;
  o += round4(nq * q_stride(D));
  L.s = o;
  o += round4(nq * kTile);
  L.m = o;
  o += round4(nq);
  L.l = o;
  o += round4(nq);
  L.corr = o;
  o += round4(nq);
  L.slot = o;
  o += kTile;
  L.spos = o;
  o += kTile;
  L.qpos = o;
  o += round4(nq);
  L.qtok = o;
  o += round4(nq);
  L.qhead = o;
  o += round4(nq);
  L.words = o;
  return L;
}

// Rows of the tile's slots into shared memory as f32 (stride `stride` floats); missing slots
// (-1) become zero rows. f32 rows go by cp.async, other dtypes by plain loads widened on the way.
__device__ inline void load_rows(float* dst, int stride, const uint8_t* __restrict__ pool, const int* slot_s, int D,
                                 const Params& p) {
  if (p.dtype != DType::F32) {
    for (int u = threadIdx.x; u < kTile * D; u += kThreads) {
      const int j = u / D, c = u - j * D;
      const int slot = slot_s[j];
      dst[j * stride + c] = slot >= 0 ? kv_element(pool + slot * p.row_bytes, c, p.dtype) : 0.0f;
    }
    return;
  }
  const auto* fpool = reinterpret_cast<const float*>(pool);
  if (p.vec4) {
    const int per_row = D / 4;
    for (int u = threadIdx.x; u < kTile * per_row; u += kThreads) {
      const int j = u / per_row, c = u - j * per_row;
      const int slot = slot_s[j];
      const float* src = slot >= 0 ? fpool + static_cast<int64_t>(slot) * D + c * 4 : fpool;
      cp_async_16(dst + j * stride + c * 4, src, slot >= 0);
    }
  } else {
    for (int u = threadIdx.x; u < kTile * D; u += kThreads) {
      const int j = u / D, c = u - j * D;
      const int slot = slot_s[j];
      const float* src = slot >= 0 ? fpool + static_cast<int64_t>(slot) * D + c : fpool;
      cp_async_4(dst + j * stride + c, src, slot >= 0);
    }
  }
}

template <bool kStats>
__global__ void __launch_bounds__(kThreads) attention_kernel(const Params p) {
  const int item = blockIdx.x;
  if (item >= *p.num_items) return;  // the grid is sized for the worst case (one item per token)

  extern __shared__ float4 smem_f4[];
  float* smem = reinterpret_cast<float*>(smem_f4);
  const int D = p.head_dim, nq = p.queries_per_cta, bs = p.block_size;
  const SmemLayout L = smem_layout(nq, D, p.vec4, kStats);
  float* k_s = smem + L.k;
  float* v_s = smem + L.v;
  float* q_s = smem + L.q;
  float* s_s = smem + L.s;  // [nq][kTile] scores, then probabilities
  float* m_s = smem + L.m;  // running max (stats: the final max)
  float* l_s = smem + L.l;  // running sum (stats: 1 / the final sum)
  float* c_s = smem + L.corr;
  int* slot_s = reinterpret_cast<int*>(smem + L.slot);
  int* spos_s = reinterpret_cast<int*>(smem + L.spos);
  int* qpos_s = reinterpret_cast<int*>(smem + L.qpos);
  int* qtok_s = reinterpret_cast<int*>(smem + L.qtok);  // token of query qi, -1 when none
  int* qhead_s = reinterpret_cast<int*>(smem + L.qhead);
  __shared__ int64_t row_id, row_begin, range_begin, range_end;
  __shared__ int item_t0, item_tokens, max_qpos, any_query;

  const int kvh = blockIdx.y / p.head_chunks, chunk = blockIdx.y % p.head_chunks, split = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int H = p.num_heads, G = p.group, gc = p.heads_per_cta;

  // (0) The item's tokens, its CSR row (checked entry by entry), and this split's slots.
  if (tid == 0) {
    const int t0 = p.items[item];
    const int seq = p.token_seq[t0];
    int nt = 1;
    while (nt < p.tokens_per_item && t0 + nt < p.num_tokens && p.token_seq[t0 + nt] == seq) ++nt;
    item_t0 = t0;
    item_tokens = nt;
    int64_t row = -1, begin = 0, len = 0;
    if (seq < 0) {
      report_device_error(p.errors, DeviceErrorCode::NegativeSequenceRow, t0, seq);
    } else {
      row = static_cast<int64_t>(seq) * p.num_kv_heads + kvh;
      if (row + 1 >= p.bounds.indptr || row >= p.bounds.lengths) {
        const int64_t rows = p.bounds.indptr - 1 < p.bounds.lengths ? p.bounds.indptr - 1 : p.bounds.lengths;
        report_device_error(p.errors, DeviceErrorCode::SequenceRowOutOfTable, t0, seq, rows / p.num_kv_heads);
      } else {
        const int64_t b = p.indptr[row], e = p.indptr[row + 1];
        if (b < 0 || e < b || e > p.bounds.indices) {
          report_device_error(p.errors, DeviceErrorCode::IndptrInvalid, row, b, e);
        } else {
          const int64_t n = p.lengths[row];
          if (n < 0 || n > (e - b) * bs) {
            report_device_error(p.errors, DeviceErrorCode::RowLengthExceedsBlocks, row, n, (e - b) * bs);
          } else {
            begin = b;
            len = n;
          }
        }
      }
    }
    row_id = row;
    row_begin = begin;
    int64_t per = (len + p.num_splits - 1) / p.num_splits;
    per = per < kMinSplitSlots ? kMinSplitSlots : per;
    per = (per + kTile - 1) / kTile * kTile;
    const int64_t first = static_cast<int64_t>(split) * per;
    range_begin = first < len ? first : len;
    range_end = first + per < len ? first + per : len;
  }
  __syncthreads();

  // (1) The CTA's queries: query qi is token item_t0 + qi / gc, head chunk * gc + qi % gc of
  // the group. Statistics count observed tokens only.
  if (tid < nq) {
    const int ti = tid / gc, gi = chunk * gc + tid % gc;
    const int t = item_t0 + ti, h = kvh * G + gi;
    bool valid = ti < item_tokens && gi < G;
    if (kStats && valid) valid = p.observe[t] != 0;
    qtok_s[tid] = valid ? t : -1;
    qhead_s[tid] = h;
    qpos_s[tid] = valid ? p.token_pos[t] : INT_MIN;
    if (kStats) {
      const int64_t qh = static_cast<int64_t>(t) * H + h;
      const float l = valid ? p.lse_l[qh] : 0.0f;
      m_s[tid] = valid ? p.lse_m[qh] : -INFINITY;
      l_s[tid] = l > 0.0f ? 1.0f / l : 0.0f;
    } else {
      m_s[tid] = -INFINITY;
      l_s[tid] = 0.0f;
    }
  }
  __syncthreads();
  if (tid == 0) {
    int mx = INT_MIN, any = 0;
    for (int qi = 0; qi < nq; ++qi) {
      if (qtok_s[qi] < 0) continue;
      any = 1;
      mx = qpos_s[qi] > mx ? qpos_s[qi] : mx;
    }
    max_qpos = mx;
    any_query = any;
  }
  for (int e = tid; e < nq * D; e += kThreads) {
    const int qi = e / D, d = e - qi * D;
    const int t = qtok_s[qi];
    q_s[qi * q_stride(D) + d] = t >= 0 ? p.q[(static_cast<int64_t>(t) * H + qhead_s[qi]) * D + d] : 0.0f;
  }
  __syncthreads();
  if (!any_query) return;  // statistics: nobody in this CTA observes

  const int ks = k_stride(D, p.vec4);
  float acc[kMaxAcc];
#pragma unroll
  for (int a = 0; a < kMaxAcc; ++a) acc[a] = 0.0f;

  for (int64_t j0 = range_begin; j0 < range_end; j0 += kTile) {
    // (2) Slots of the tile.
    int visible = 0;
    if (tid < kTile) {
      const int64_t i = j0 + tid;
      int slot = -1, pos = INT_MAX;
      if (i < range_end) {
        const int64_t block = p.indices[row_begin + i / bs];
        if (block < 0 || block >= p.bounds.pool_blocks) {
          report_device_error(p.errors, DeviceErrorCode::BlockOutOfPool, block, row_id, p.bounds.pool_blocks);
        } else {
          slot = static_cast<int>(block * bs + i % bs);
          pos = p.slot_pos[slot];
        }
      }
      slot_s[tid] = slot;
      spos_s[tid] = pos;
      visible = slot >= 0 && pos <= max_qpos;
    }
    if (!__syncthreads_or(visible)) continue;  // causal: no query here sees any of these slots

    // (3) K (and V) rows.
    load_rows(k_s, ks, p.k_pool, slot_s, D, p);
    if (!kStats) load_rows(v_s, D, p.v_pool, slot_s, D, p);
    cp_async_wait_all();
    __syncthreads();

    // (4) Scores: dot_lanes lanes share each (query, slot) dot product.
    {
      const int S = p.dot_lanes;
      const int total = nq * kTile * S;
      for (int base = 0; base < total; base += kThreads) {  // every lane runs every round: shuffles stay full-warp
        const int u = base + tid;
        const bool active = u < total;
        const int sub = u % S, pair = u / S;
        const int qi = pair % nq, j = pair / nq;
        float dot = 0.0f;
        if (active) {
          const float* qr = q_s + qi * q_stride(D);
          const float* kr = k_s + j * ks;
          for (int d = sub; d < D; d += S) dot = fmaf(qr[d], kr[d], dot);
        }
        for (int off = S >> 1; off > 0; off >>= 1) dot += __shfl_xor_sync(kFullMask, dot, off);
        if (active && sub == 0) {
          const bool vis = qtok_s[qi] >= 0 && slot_s[j] >= 0 && spos_s[j] <= qpos_s[qi];
          s_s[qi * kTile + j] = vis ? dot * p.scale : -INFINITY;
        }
      }
    }
    __syncthreads();

    if (!kStats) {
      // (5) Online softmax, one warp per query.
      for (int qi = warp; qi < nq; qi += kWarps) {
        const float s = s_s[qi * kTile + lane];
        const float m_old = m_s[qi];
        const float m_new = fmaxf(m_old, warp_max(s));
        float prob = 0.0f, corr = 1.0f;
        if (m_new != -INFINITY) {
          prob = s == -INFINITY ? 0.0f : expf(s - m_new);
          corr = m_old == -INFINITY ? 0.0f : expf(m_old - m_new);
        }
        const float sum = warp_sum(prob);
        s_s[qi * kTile + lane] = prob;
        if (lane == 0) {
          l_s[qi] = l_s[qi] * corr + sum;
          m_s[qi] = m_new;
          c_s[qi] = corr;
        }
      }
      __syncthreads();
      // (6) acc = acc * corr + P·V; thread element e = (query e / D, column e % D).
#pragma unroll
      for (int a = 0; a < kMaxAcc; ++a) {
        const int e = tid + a * kThreads;
        if (e < nq * D) {
          const int qi = e / D, d = e - qi * D;
          const float* pr = s_s + qi * kTile;
          float v = acc[a] * c_s[qi];
#pragma unroll 8
          for (int j = 0; j < kTile; ++j) v = fmaf(pr[j], v_s[j * D + d], v);
          acc[a] = v;
        }
      }
    } else {
      // (5') Normalised probabilities, then per-slot sums over the CTA's observed queries.
      for (int u = tid; u < nq * kTile; u += kThreads) {
        const int qi = u / kTile;
        const float s = s_s[u];
        s_s[u] = s == -INFINITY ? 0.0f : expf(s - m_s[qi]) * l_s[qi];
      }
      __syncthreads();
      if (tid < kTile && slot_s[tid] >= 0) {
        const int pos = spos_s[tid];
        float sum = 0.0f, sq = 0.0f, seen = 0.0f;
        for (int qi = 0; qi < nq; ++qi) {
          if (qtok_s[qi] < 0 || pos > qpos_s[qi]) continue;
          const float pr = s_s[qi * kTile + tid];
          sum += pr;
          sq += pr * pr;
          seen += 1.0f;
        }
        if (seen > 0.0f) {
          const int slot = slot_s[tid];
          atomicAdd(p.att_sum + slot, sum);
          atomicAdd(p.att_sq + slot, sq);
          atomicAdd(p.n_obs + slot, seen);
        }
      }
    }
    __syncthreads();  // the next tile overwrites slot_s, k_s, v_s and s_s
  }
  if (kStats) return;

  // (7) Results: normalised output (one split) or the split's partial state for the merge.
  const bool whole = p.num_splits == 1;
#pragma unroll
  for (int a = 0; a < kMaxAcc; ++a) {
    const int e = tid + a * kThreads;
    if (e < nq * D) {
      const int qi = e / D, d = e - qi * D;
      const int t = qtok_s[qi];
      if (t >= 0) {
        const int64_t qh = static_cast<int64_t>(t) * H + qhead_s[qi];
        if (whole) {
          const float l = l_s[qi];
          p.out[qh * D + d] = l > 0.0f ? acc[a] / l : 0.0f;  // a query that sees nothing outputs zeros
        } else {
          p.part_o[(qh * p.num_splits + split) * D + d] = acc[a];
        }
      }
    }
  }
  if (tid < nq && qtok_s[tid] >= 0) {
    const int64_t qh = static_cast<int64_t>(qtok_s[tid]) * H + qhead_s[tid];
    if (whole) {
      if (p.lse_m != nullptr) {
        p.lse_m[qh] = m_s[tid];
        p.lse_l[qh] = l_s[tid];
      }
    } else {
      p.part_m[qh * p.num_splits + split] = m_s[tid];
      p.part_l[qh * p.num_splits + split] = l_s[tid];
    }
  }
}

size_t smem_bytes(int nq, int D, bool vec4, bool stats) {
  return static_cast<size_t>(smem_layout(nq, D, vec4, stats).words) * sizeof(float);
}

// f32 K/V rows can move as 16-byte pieces when head_dim is a multiple of 4 and the pools are
// 16-byte aligned (cudaMalloc gives 256).
bool rows_move_in_16_bytes(const PagedKv& kv) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return kv.dtype == DType::F32 && kv.head_dim % 4 == 0 && aligned(kv.k_pool) && aligned(kv.v_pool);
}

[[noreturn]] void shape_error(const std::string& problem) { throw std::runtime_error("paged_attention: " + problem); }

template <bool kStats>
void launch(const OpContext& ctx, const Params& params, const AttentionConfig& c, int64_t kv_heads) {
  const size_t smem = kStats ? c.smem_stats : c.smem_attention;
  if (smem > 48 * 1024) {
    check_cuda(cudaFuncSetAttribute(attention_kernel<kStats>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(smem)),
               "paged_attention (shared memory)");
  }
  const dim3 grid(static_cast<unsigned>(params.num_tokens), static_cast<unsigned>(kv_heads * c.head_chunks),
                  static_cast<unsigned>(c.num_splits));
  attention_kernel<kStats><<<grid, kThreads, smem, ctx.stream>>>(params);
  check_launch(kStats ? "paged_attention (statistics)" : "paged_attention");
}

}  // namespace

AttentionConfig plan_attention(const AttentionBatch& batch, const PagedKv& kv, const OpContext& ctx) {
  if (kv.num_kv_heads <= 0 || kv.head_dim <= 0 || kv.block_size <= 0) {
    shape_error("invalid cache shape (kv heads " + std::to_string(kv.num_kv_heads) + ", head_dim " +
                std::to_string(kv.head_dim) + ", block_size " + std::to_string(kv.block_size) + ")");
  }
  if (batch.num_heads <= 0 || batch.num_heads % kv.num_kv_heads != 0) {
    shape_error(std::to_string(batch.num_heads) + " query heads are not a multiple of " +
                std::to_string(kv.num_kv_heads) + " KV heads");
  }
  const int D = kv.head_dim;
  if (D > kMaxQueryElems) {
    shape_error("head_dim " + std::to_string(D) + " is larger than the " + std::to_string(kMaxQueryElems) +
                " the CUDA kernels support");
  }
  AttentionConfig c;
  c.group = batch.num_heads / kv.num_kv_heads;
  const int qmax = std::min(kMaxQueries, kMaxQueryElems / D);
  c.heads_per_cta = std::min(c.group, qmax);
  c.head_chunks = static_cast<int32_t>(ceil_div(c.group, c.heads_per_cta));
  c.tokens_per_item = std::max(1, qmax / c.heads_per_cta);
  const bool vec4 = rows_move_in_16_bytes(kv);
  // Static shared memory (a few scalars) comes on top of the dynamic part.
  const size_t smem_limit = ctx.max_shared_per_block > 1024 ? ctx.max_shared_per_block - 1024 : 0;
  // Fewer tokens per item when a large head_dim would not fit in shared memory.
  for (;;) {
    c.queries_per_cta = c.tokens_per_item * c.heads_per_cta;
    c.smem_attention = smem_bytes(c.queries_per_cta, D, vec4, false);
    c.smem_stats = smem_bytes(c.queries_per_cta, D, vec4, true);
    if (c.smem_attention <= smem_limit || c.tokens_per_item == 1) break;
    --c.tokens_per_item;
  }
  if (c.smem_attention > smem_limit) {
    shape_error("head_dim " + std::to_string(D) + " with " + std::to_string(c.heads_per_cta) + " heads per group needs " +
                std::to_string(c.smem_attention) + " bytes of shared memory; the device allows " +
                std::to_string(smem_limit));
  }
  c.dot_lanes = 1;
  while (c.dot_lanes < 32 && c.queries_per_cta * kTile * c.dot_lanes * 2 <= kThreads) c.dot_lanes *= 2;
  // Enough CTAs to fill the GPU a few times over, assuming the fewest items (one per token is
  // the most; a single prefill sequence gives tokens / tokens_per_item).
  const int64_t ctas = static_cast<int64_t>(batch.num_tokens) * kv.num_kv_heads * c.head_chunks;
  const int64_t target = static_cast<int64_t>(ctx.sm_count) * 4;
  c.num_splits = static_cast<int32_t>(std::clamp<int64_t>(ceil_div(target, std::max<int64_t>(ctas, 1)), 1, kMaxSplits));
  return c;
}

void launch_paged_attention(const OpContext& ctx, const AttentionBatch& batch, const float* q, const PagedKv& kv,
                            const TableBounds& bounds, const AttentionConfig& c, const AttentionScratch& scratch,
                            float* out) {
  if (batch.num_tokens <= 0) return;
  Params p{};
  p.num_tokens = batch.num_tokens;
  p.num_heads = batch.num_heads;
  p.num_kv_heads = kv.num_kv_heads;
  p.head_dim = kv.head_dim;
  p.block_size = kv.block_size;
  p.group = c.group;
  p.heads_per_cta = c.heads_per_cta;
  p.head_chunks = c.head_chunks;
  p.tokens_per_item = c.tokens_per_item;
  p.queries_per_cta = c.queries_per_cta;
  p.dot_lanes = c.dot_lanes;
  p.num_splits = c.num_splits;
  p.vec4 = rows_move_in_16_bytes(kv);
  p.scale = batch.scale;
  p.q = q;
  p.out = out;
  p.token_seq = batch.token_seq;
  p.token_pos = batch.token_pos;
  p.observe = batch.observe;
  p.dtype = kv.dtype;
  p.row_bytes = static_cast<int64_t>(kv.row_bytes());
  p.k_pool = static_cast<const uint8_t*>(kv.k_pool);
  p.v_pool = static_cast<const uint8_t*>(kv.v_pool);
  p.slot_pos = kv.slot_pos;
  p.att_sum = kv.att_sum;
  p.att_sq = kv.att_sq;
  p.n_obs = kv.n_obs;
  p.indptr = kv.indptr;
  p.indices = kv.indices;
  p.lengths = kv.lengths;
  p.bounds = bounds;
  p.items = scratch.items;
  p.num_items = scratch.num_items;
  p.part_o = scratch.part_o;
  p.part_m = scratch.part_m;
  p.part_l = scratch.part_l;
  const bool observing = batch.observe != nullptr;
  p.lse_m = observing ? scratch.lse_m : nullptr;
  p.lse_l = observing ? scratch.lse_l : nullptr;
  p.errors = ctx.errors;

  launch_plan_items(ctx, batch.token_seq, batch.num_tokens, c.tokens_per_item, scratch.items, scratch.num_items);
  launch<false>(ctx, p, c, kv.num_kv_heads);
  if (c.num_splits > 1) {
    launch_combine_splits(ctx, batch.num_tokens, batch.num_heads, kv.head_dim, c.num_splits, scratch.part_o,
                          scratch.part_m, scratch.part_l, out, p.lse_m, p.lse_l);
  }
  if (observing) launch<true>(ctx, p, c, kv.num_kv_heads);
}

}  // namespace kvwb::kernels::cuda
