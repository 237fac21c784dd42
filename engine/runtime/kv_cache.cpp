#include "engine/runtime/kv_cache.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "engine/core/error.h"
#include "kernels/quant.h"
#include "profiler/scoped_span.h"

namespace kvwb {

int64_t kv_bytes_per_slot(int64_t head_dim, kernels::DType kv_dtype) {
  constexpr int64_t metadata = sizeof(int32_t) + 3 * sizeof(float);  // slot_pos, att_sum, att_sq, n_obs
  return 2 * static_cast<int64_t>(kernels::kv_row_bytes(kv_dtype, head_dim)) + metadata;
}

int64_t kv_bytes_per_block(int64_t head_dim, int64_t block_size, kernels::DType kv_dtype) {
  return block_size * kv_bytes_per_slot(head_dim, kv_dtype);
}

kernels::DType parse_kv_dtype(std::string_view name) {
  const std::optional<kernels::DType> t = kernels::kv_dtype_from_name(name);
  if (!t) fail("kv_dtype", "unknown '{}' (one of {})", name, kernels::kv_dtype_names());
  return *t;
}

void check_kv_dtype(kernels::DType kv_dtype, int64_t head_dim) {
  const std::string problem = kernels::kv_dtype_problem(kv_dtype, head_dim);
  if (!problem.empty()) fail("kv_dtype", "{}", problem);
}

KvCache::KvCache(kernels::Backend& backend, const KvCacheShape& shape)
    : backend_(backend), shape_(shape) {
  if (shape.num_layers <= 0 || shape.num_kv_heads <= 0 || shape.head_dim <= 0 ||
      shape.block_size <= 0 || shape.num_blocks <= 0) {
    fail("kv cache", "invalid shape (layers {}, kv heads {}, head_dim {}, block_size {}, blocks {})",
         shape.num_layers, shape.num_kv_heads, shape.head_dim, shape.block_size, shape.num_blocks);
  }
  check_kv_dtype(shape.kv_dtype, shape.head_dim);
  const size_t slots = static_cast<size_t>(shape.num_blocks * shape.block_size);
  const size_t kv_bytes = slots * kernels::kv_row_bytes(shape.kv_dtype, shape.head_dim);
  k_pool_ = k_mem_.get<uint8_t>(kv_bytes);
  v_pool_ = v_mem_.get<uint8_t>(kv_bytes);
  // Positions and the three statistics of every slot, one allocation: [4][slots] of 4 bytes.
  static_assert(sizeof(int32_t) == sizeof(float));
  float* meta = slot_mem_.get<float>(4 * slots);
  slot_pos_ = reinterpret_cast<int32_t*>(meta);
  att_sum_ = meta + slots;
  att_sq_ = meta + 2 * slots;
  n_obs_ = meta + 3 * slots;
  // Hand out low block ids first (pop from the back).
  block_limit_ = shape.num_blocks;
  free_list_.resize(static_cast<size_t>(shape.num_blocks));
  for (int64_t b = 0; b < shape.num_blocks; ++b) free_list_[static_cast<size_t>(b)] = static_cast<int32_t>(shape.num_blocks - 1 - b);
}

void KvCache::set_block_limit(int64_t blocks) {
  if (blocks < 1 || blocks > shape_.num_blocks) {
    fail("kv cache", "block limit {} outside [1, {}] (the allocated pool)", blocks, shape_.num_blocks);
  }
  block_limit_ = blocks;
}

int32_t KvCache::add_sequence() {
  int32_t id;
  if (!free_seq_ids_.empty()) {
    id = free_seq_ids_.back();
    free_seq_ids_.pop_back();
  } else {
    id = static_cast<int32_t>(sequences_.size());
    sequences_.emplace_back();
  }
  Sequence& s = sequences_[static_cast<size_t>(id)];
  s.live = true;
  s.heads.assign(static_cast<size_t>(shape_.num_layers * shape_.num_kv_heads), HeadTable{});
  return id;
}

bool KvCache::has_sequence(int32_t seq) const {
  return seq >= 0 && static_cast<size_t>(seq) < sequences_.size() && sequences_[static_cast<size_t>(seq)].live;
}

void KvCache::free_sequence(int32_t seq) {
  if (!has_sequence(seq)) fail("kv cache", "free of unknown sequence {}", seq);
  Sequence& s = sequences_[static_cast<size_t>(seq)];
  for (HeadTable& h : s.heads) {
    free_list_.insert(free_list_.end(), h.blocks.rbegin(), h.blocks.rend());
    used_slots_ -= h.length;
  }
  s.heads.clear();
  s.live = false;
  free_seq_ids_.push_back(seq);
}

int64_t KvCache::blocks_to_append(int32_t seq, int64_t n) const {
  if (!has_sequence(seq)) fail("kv cache", "unknown sequence {}", seq);
  int64_t blocks = 0;
  for (const HeadTable& h : sequences_[static_cast<size_t>(seq)].heads) {
    const int64_t capacity = static_cast<int64_t>(h.blocks.size()) * shape_.block_size;
    const int64_t need = h.length + n - capacity;
    if (need > 0) blocks += (need + shape_.block_size - 1) / shape_.block_size;
  }
  return blocks;
}

bool KvCache::append(int32_t seq, int64_t n) {
  if (blocks_to_append(seq, n) > free_blocks()) return false;
  for (HeadTable& h : sequences_[static_cast<size_t>(seq)].heads) {
    h.length += n;
    used_slots_ += n;
    while (static_cast<int64_t>(h.blocks.size()) * shape_.block_size < h.length) {  // checked above
      h.blocks.push_back(free_list_.back());
      free_list_.pop_back();
    }
  }
  return true;
}

const KvCache::HeadTable& KvCache::table(int32_t seq, int64_t layer, int64_t head) const {
  if (!has_sequence(seq)) fail("kv cache", "unknown sequence {}", seq);
  return sequences_[static_cast<size_t>(seq)].heads[static_cast<size_t>(layer * shape_.num_kv_heads + head)];
}

KvCache::HeadTable& KvCache::table(int32_t seq, int64_t layer, int64_t head) {
  return const_cast<HeadTable&>(std::as_const(*this).table(seq, layer, head));
}

int64_t KvCache::evict(int32_t seq, int64_t layer, int64_t head, std::span<const int64_t> indices) {
  std::vector<std::vector<int64_t>> victims(static_cast<size_t>(layer * shape_.num_kv_heads + head + 1));
  victims.back().assign(indices.begin(), indices.end());
  return evict_rows(seq, victims);
}

int64_t KvCache::evict_rows(int32_t seq, std::span<const std::vector<int64_t>> victims) {
  ScopedSpan span("compact", Category::compaction);
  const int64_t H = shape_.num_kv_heads;
  if (static_cast<int64_t>(victims.size()) > shape_.num_layers * H) fail("kv cache", "evict: more rows than layers x heads");
  // Every row is checked before any moves: a bad index leaves the cache as it was.
  std::vector<std::vector<uint8_t>> drop(victims.size());
  for (size_t r = 0; r < victims.size(); ++r) {
    if (victims[r].empty()) continue;
    const HeadTable& h = table(seq, static_cast<int64_t>(r) / H, static_cast<int64_t>(r) % H);
    drop[r].assign(static_cast<size_t>(h.length), 0);
    for (int64_t i : victims[r]) {
      if (i < 0 || i >= h.length) fail("kv cache", "evict index {} outside the head's {} slots", i, h.length);
      if (drop[r][static_cast<size_t>(i)] != 0) fail("kv cache", "evict index {} given twice", i);
      drop[r][static_cast<size_t>(i)] = 1;
    }
  }
  // Stable compaction: the k-th retained slot of a row moves to index k. Rows own disjoint
  // blocks, so their moves go to the backend as one list.
  std::vector<int32_t> src, dst;
  std::vector<int64_t> kept(victims.size(), 0);
  int64_t evicted = 0;
  for (size_t r = 0; r < victims.size(); ++r) {
    if (victims[r].empty()) continue;
    const int64_t layer = static_cast<int64_t>(r) / H, head = static_cast<int64_t>(r) % H;
    const int64_t length = table(seq, layer, head).length;
    for (int64_t i = 0; i < length; ++i) {
      if (drop[r][static_cast<size_t>(i)] != 0) continue;
      if (kept[r] != i) {
        src.push_back(slot(seq, layer, head, i));
        dst.push_back(slot(seq, layer, head, kept[r]));
      }
      ++kept[r];
    }
    evicted += length - kept[r];
  }
  if (!src.empty()) backend_.kv_move(pool_view(), src.data(), dst.data(), static_cast<int64_t>(src.size()));
  span.arg("evicted", evicted).arg("moved", static_cast<int64_t>(src.size()));
  used_slots_ -= evicted;
  int64_t freed = 0;
  for (size_t r = 0; r < victims.size(); ++r) {
    if (victims[r].empty()) continue;
    HeadTable& h = table(seq, static_cast<int64_t>(r) / H, static_cast<int64_t>(r) % H);
    h.length = kept[r];
    const size_t blocks_needed = static_cast<size_t>((kept[r] + shape_.block_size - 1) / shape_.block_size);
    freed += static_cast<int64_t>(h.blocks.size() - blocks_needed);
    while (h.blocks.size() > blocks_needed) {
      free_list_.push_back(h.blocks.back());
      h.blocks.pop_back();
    }
  }
  return freed;
}

int64_t KvCache::length(int32_t seq, int64_t layer, int64_t head) const { return table(seq, layer, head).length; }

const std::vector<int32_t>& KvCache::block_table(int32_t seq, int64_t layer, int64_t head) const {
  return table(seq, layer, head).blocks;
}

int32_t KvCache::slot(int32_t seq, int64_t layer, int64_t head, int64_t index) const {
  const HeadTable& h = table(seq, layer, head);
  const int64_t bs = shape_.block_size;
  return static_cast<int32_t>(h.blocks[static_cast<size_t>(index / bs)] * bs + index % bs);
}

void KvCache::build_csr(std::span<const int32_t> seqs, int64_t layer, LayerCsr& out) const {
  out.indptr.clear();
  out.indices.clear();
  out.lengths.clear();
  out.indptr.push_back(0);
  for (int32_t seq : seqs) {
    for (int64_t head = 0; head < shape_.num_kv_heads; ++head) {
      const HeadTable& h = table(seq, layer, head);
      out.indices.insert(out.indices.end(), h.blocks.begin(), h.blocks.end());
      out.indptr.push_back(static_cast<int32_t>(out.indices.size()));
      out.lengths.push_back(static_cast<int32_t>(h.length));
    }
  }
}

kernels::PagedKv KvCache::pool_view() const {
  kernels::PagedKv kv;
  kv.num_kv_heads = static_cast<int32_t>(shape_.num_kv_heads);
  kv.head_dim = static_cast<int32_t>(shape_.head_dim);
  kv.block_size = static_cast<int32_t>(shape_.block_size);
  kv.dtype = shape_.kv_dtype;
  kv.k_pool = k_pool_;
  kv.v_pool = v_pool_;
  kv.slot_pos = slot_pos_;
  kv.att_sum = att_sum_;
  kv.att_sq = att_sq_;
  kv.n_obs = n_obs_;
  return kv;
}

std::vector<int32_t> KvCache::positions(int32_t seq, int64_t layer, int64_t head) const {
  // Positions only (retention snapshots read every head of every sequence): no statistics.
  const HeadTable& h = table(seq, layer, head);
  const size_t n = static_cast<size_t>(h.length);
  std::vector<int32_t> out(n);
  ScopedSpan span("read_positions");  // one span for the head, as read_head
  span.arg("slots", static_cast<int64_t>(n));
  const CurrentProfiler untimed(nullptr);
  const size_t bs = static_cast<size_t>(shape_.block_size);
  for (size_t b = 0; b * bs < n; ++b) {
    const size_t count = std::min(n - b * bs, bs);
    backend_.copy_to_host(out.data() + b * bs, slot_pos_ + static_cast<size_t>(h.blocks[b]) * bs, count * sizeof(int32_t));
  }
  return out;
}

void KvCache::read_head(int32_t seq, int64_t layer, int64_t head, HeadSlots& out) const {
  const HeadTable& h = table(seq, layer, head);
  const size_t n = static_cast<size_t>(h.length);
  out.positions.resize(n);
  out.att_sum.resize(n);
  out.att_sq.resize(n);
  out.n_obs.resize(n);
  // One op span for the whole head: its copies are a few bytes per block, cheaper than timing
  // each of them (a span costs ~80 ns; a head of 128 slots in blocks of 16 is 32 copies).
  ScopedSpan span("read_head");
  span.arg("slots", static_cast<int64_t>(n)).arg("blocks", static_cast<int64_t>(h.blocks.size()));
  const CurrentProfiler untimed(nullptr);
  const int64_t bs = shape_.block_size;
  for (size_t b = 0; b * static_cast<size_t>(bs) < n; ++b) {
    const size_t first = b * static_cast<size_t>(bs);
    const size_t count = std::min(n - first, static_cast<size_t>(bs));
    const size_t slot = static_cast<size_t>(h.blocks[b]) * static_cast<size_t>(bs);
    backend_.copy_to_host(out.positions.data() + first, slot_pos_ + slot, count * sizeof(int32_t));
    backend_.copy_to_host(out.att_sum.data() + first, att_sum_ + slot, count * sizeof(float));
    backend_.copy_to_host(out.att_sq.data() + first, att_sq_ + slot, count * sizeof(float));
    backend_.copy_to_host(out.n_obs.data() + first, n_obs_ + slot, count * sizeof(float));
  }
}

std::vector<float> KvCache::keys(int32_t seq, int64_t layer, int64_t head) const {
  const HeadTable& h = table(seq, layer, head);
  const size_t hd = static_cast<size_t>(shape_.head_dim);
  const kernels::PagedKv kv = pool_view();
  std::vector<float> out(static_cast<size_t>(h.length) * hd);
  std::vector<uint8_t> row(kv.row_bytes());
  ScopedSpan span("read_keys");  // one span, not one per slot (as read_head)
  span.arg("slots", h.length);
  const CurrentProfiler untimed(nullptr);
  for (int64_t i = 0; i < h.length; ++i) {
    backend_.copy_to_host(row.data(), kv.k_row(slot(seq, layer, head, i)), row.size());
    kernels::dequantize_row(kv.dtype, row.data(), &out[static_cast<size_t>(i) * hd], shape_.head_dim);
  }
  return out;
}

}  // namespace kvwb
