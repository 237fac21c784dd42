#pragma once
// The paged KV cache: a fixed pool of blocks, each holding `block_size` slots of K and V for one
// KV head of one layer, plus every slot's original position and attention statistics. Every
// (sequence, layer, KV head) has its own block table and length, so heads may hold different
// numbers of tokens (KV-Compress). The pool never grows: its size is the KV memory budget.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/runtime/backend_buffer.h"
#include "kernels/backend.h"

namespace kvwb {

struct KvCacheShape {
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t block_size = 16;
  int64_t num_blocks = 0;
  kernels::DType kv_dtype = kernels::DType::F32;  // of the K and V rows (kernels/kv_dtype.h)
  // K and V rows are stored rotated by kernels::kv_rotation_matrix (Forward rotates the queries
  // and the attention output to match): RunConfig kv_rotation, for block-quantized dtypes.
  bool kv_rotated = false;
};

// Bytes one slot costs: its K and V rows in kv_dtype plus its position and three statistics.
int64_t kv_bytes_per_slot(int64_t head_dim, kernels::DType kv_dtype);
// Bytes one block costs: block_size slots.
int64_t kv_bytes_per_block(int64_t head_dim, int64_t block_size, kernels::DType kv_dtype);
// The KV dtype named `name` (RunConfig kv_dtype); throws Error("kv_dtype: unknown 'x' (one of
// f32, f16, ...)") for any other name.
kernels::DType parse_kv_dtype(std::string_view name);
// Throws Error("kv_dtype: ...") unless the pool can store kv_dtype at this head_dim.
void check_kv_dtype(kernels::DType kv_dtype, int64_t head_dim);

// Host copy of one head's slots in order: positions and attention statistics.
struct HeadSlots {
  std::vector<int32_t> positions;
  std::vector<float> att_sum;
  std::vector<float> att_sq;
  std::vector<float> n_obs;
  size_t size() const { return positions.size(); }
};

// CSR tables of one layer for a list of sequences, in host memory (the forward copies them to
// the backend). Row r = i * num_kv_heads + head for the i-th sequence of the list.
struct LayerCsr {
  std::vector<int32_t> indptr;
  std::vector<int32_t> indices;
  std::vector<int32_t> lengths;
};

class KvCache {
 public:
  KvCache(kernels::Backend& backend, const KvCacheShape& shape);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  const KvCacheShape& shape() const { return shape_; }
  kernels::Backend& backend() const { return backend_; }
  // Blocks that may still be taken: the pool's free blocks below the current limit.
  int64_t free_blocks() const { return std::max<int64_t>(0, block_limit_ - used_blocks()); }
  int64_t used_blocks() const { return shape_.num_blocks - static_cast<int64_t>(free_list_.size()); }
  // Slots in use over every (sequence, layer, KV head): cached tokens, each counted once per
  // layer and KV head that holds it.
  int64_t used_slots() const { return used_slots_; }
  // Caps the blocks in use (a smaller KV budget mid-run) without reallocating; at most the
  // allocated pool. Blocks already in use above the limit stay until freed.
  void set_block_limit(int64_t blocks);
  int64_t block_limit() const { return block_limit_; }

  int32_t add_sequence();               // a new, empty sequence; returns its id
  void free_sequence(int32_t seq);      // returns all its blocks to the pool
  bool has_sequence(int32_t seq) const;

  // Blocks that append(seq, n) would take from the pool.
  int64_t blocks_to_append(int32_t seq, int64_t n) const;
  // Grows every (layer, head) of seq by n slots. Returns false, changing nothing, when the pool
  // has too few free blocks.
  bool append(int32_t seq, int64_t n);

  // Removes the slots at `indices` (positions in the head's table: unique, any order) from
  // (seq, layer, head): the retained slots move up in their order (so positions stay sorted)
  // and blocks no longer needed return to the pool. Returns the number of blocks freed.
  int64_t evict(int32_t seq, int64_t layer, int64_t head, std::span<const int64_t> indices);
  // The same for every (layer, head) row of seq at once (row = layer * num_kv_heads + head;
  // victims.size() rows, an empty list leaves its row alone), moving all their slots in one
  // backend call. Checks every row before changing any. Returns the number of blocks freed.
  int64_t evict_rows(int32_t seq, std::span<const std::vector<int64_t>> victims);

  int64_t length(int32_t seq, int64_t layer, int64_t head) const;
  // Physical slot id (block * block_size + offset) of the index-th slot of (seq, layer, head).
  int32_t slot(int32_t seq, int64_t layer, int64_t head, int64_t index) const;
  const std::vector<int32_t>& block_table(int32_t seq, int64_t layer, int64_t head) const;

  void build_csr(std::span<const int32_t> seqs, int64_t layer, LayerCsr& out) const;
  // The pool as kernels see it (CSR pointers left null: the caller fills them per layer).
  kernels::PagedKv pool_view() const;

  // Reads back a slot's position (host copy; for tests and snapshots).
  std::vector<int32_t> positions(int32_t seq, int64_t layer, int64_t head) const;
  // Host copy of the positions and statistics of (seq, layer, head), block by block.
  void read_head(int32_t seq, int64_t layer, int64_t head, HeadSlots& out) const;
  // Host copy of the keys of (seq, layer, head) as f32 (the values the pool's dtype holds):
  // [length, head_dim].
  std::vector<float> keys(int32_t seq, int64_t layer, int64_t head) const;

 private:
  struct HeadTable {
    std::vector<int32_t> blocks;
    int64_t length = 0;
  };
  struct Sequence {
    bool live = false;
    std::vector<HeadTable> heads;  // [layer * num_kv_heads + head]
  };
  const HeadTable& table(int32_t seq, int64_t layer, int64_t head) const;
  HeadTable& table(int32_t seq, int64_t layer, int64_t head);

  kernels::Backend& backend_;
  KvCacheShape shape_;
  // The pool's memory, owned (a failed allocation leaks none of the others); the pointers
  // below view it.
  BackendBuffer k_mem_{backend_, "KV pool (keys)"}, v_mem_{backend_, "KV pool (values)"},
      slot_mem_{backend_, "KV pool (slot positions and statistics)"};
  void* k_pool_ = nullptr;  // [num_blocks * block_size] rows of kv_row_bytes(kv_dtype, head_dim)
  void* v_pool_ = nullptr;
  int32_t* slot_pos_ = nullptr;
  float* att_sum_ = nullptr;
  float* att_sq_ = nullptr;
  float* n_obs_ = nullptr;
  std::vector<int32_t> free_list_;
  int64_t block_limit_ = 0;
  int64_t used_slots_ = 0;
  std::vector<Sequence> sequences_;
  std::vector<int32_t> free_seq_ids_;
};

}  // namespace kvwb
