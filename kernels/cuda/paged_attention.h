#pragma once
// Paged attention on the GPU: planning, the attention kernel (split over the KV length for long
// rows, GQA-aware), the merge of the splits, and the statistics pass. See paged_attention.cu
// for the design; this header is what the backend needs to size scratch and launch.
#include <cstddef>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {

// How the work is cut; chosen on the host from shapes only (the tables live on the device).
// A CTA serves one "item" (up to tokens_per_item consecutive tokens of one sequence) x
// heads_per_cta query heads of one KV head's group x one split of the row's slots.
struct AttentionConfig {
  int32_t group = 1;            // query heads per KV head
  int32_t heads_per_cta = 1;    // query heads of the group per CTA (all of them unless the group is huge)
  int32_t head_chunks = 1;      // ceil(group / heads_per_cta)
  int32_t tokens_per_item = 1;  // consecutive tokens of one sequence per CTA (prefill chunks share K/V reads)
  int32_t queries_per_cta = 1;  // tokens_per_item * heads_per_cta
  int32_t dot_lanes = 1;        // lanes that share one q·k dot product (power of two)
  int32_t num_splits = 1;       // slices of each row's slots, merged afterwards when > 1
  size_t smem_attention = 0;    // dynamic shared memory, bytes
  size_t smem_stats = 0;
};

// Throws std::runtime_error("paged_attention: ...") for shapes the kernels cannot serve.
AttentionConfig plan_attention(const AttentionBatch& batch, const PagedKv& kv, const OpContext& ctx);

// Device scratch, sized with the helpers below (element counts).
struct AttentionScratch {
  int32_t* items = nullptr;      // [num_tokens] first token of each item
  int32_t* num_items = nullptr;  // [1]
  float* part_o = nullptr;       // [num_tokens * num_heads * num_splits * head_dim], num_splits > 1
  float* part_m = nullptr;       // [num_tokens * num_heads * num_splits]
  float* part_l = nullptr;       // [num_tokens * num_heads * num_splits]
  float* lse_m = nullptr;        // [num_tokens * num_heads], when observing: softmax max and sum
  float* lse_l = nullptr;        // [num_tokens * num_heads]
};
inline size_t partial_elems(const AttentionBatch& b, const PagedKv& kv, const AttentionConfig& c) {
  return c.num_splits > 1 ? static_cast<size_t>(b.num_tokens) * b.num_heads * c.num_splits : 0;
}

// What the pointers of `kv` may address (from the backend's allocation registry), so kernels
// check every table entry before using it.
struct TableBounds {
  int64_t indptr = 0;       // int32 elements readable at kv.indptr
  int64_t indices = 0;      // at kv.indices
  int64_t lengths = 0;      // at kv.lengths
  int64_t pool_blocks = 0;  // blocks every pool array can hold
};

void launch_paged_attention(const OpContext& ctx, const AttentionBatch& batch, const float* q, const PagedKv& kv,
                            const TableBounds& bounds, const AttentionConfig& config, const AttentionScratch& scratch,
                            float* out);

// attention_plan.cu: items[] = the first token of every item, in batch order; a new item starts
// where the sequence changes or after tokens_per_item tokens of the same sequence.
void launch_plan_items(const OpContext& ctx, const int32_t* token_seq, int32_t num_tokens, int32_t tokens_per_item,
                       int32_t* items, int32_t* num_items);

// attention_combine.cu: out[t, h] from the splits' partial results; lse_m/lse_l may be null.
void launch_combine_splits(const OpContext& ctx, int32_t num_tokens, int32_t num_heads, int32_t head_dim,
                           int32_t num_splits, const float* part_o, const float* part_m, const float* part_l,
                           float* out, float* lse_m, float* lse_l);

}  // namespace kvwb::kernels::cuda
