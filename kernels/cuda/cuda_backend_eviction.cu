// CudaBackend's eviction ops (score_slots, select_slots): check the CSR layout on the host from
// small copies of its offsets (a few ints per row), then enqueue score_slots.cu / select_slots.cu.
// Only those offsets come to the host; scores and statistics stay on the device.
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace kvwb::kernels::cuda {
namespace {

[[noreturn]] void eviction_error(const char* op, const std::string& problem) {
  throw std::runtime_error(std::string(op) + ": " + problem);
}

// offsets[0] == 0 and nondecreasing; returns offsets[rows].
int64_t check_offsets(const std::vector<int32_t>& offsets, const char* op) {
  if (offsets.front() != 0) eviction_error(op, "offsets[0] is " + std::to_string(offsets.front()) + ", not 0");
  for (size_t r = 0; r + 1 < offsets.size(); ++r) {
    if (offsets[r + 1] < offsets[r]) eviction_error(op, "offsets decrease at row " + std::to_string(r));
  }
  return offsets.back();
}

constexpr int32_t kMaxRows = 65535;  // rows are a grid dimension

}  // namespace

std::vector<int32_t> CudaBackend::host_ints(const int32_t* p, int64_t count, const char* op, const char* arg) {
  require(p, static_cast<size_t>(count) * sizeof(int32_t), op, arg);
  std::vector<int32_t> out(static_cast<size_t>(count));
  check_cuda(cudaMemcpyAsync(out.data(), p, out.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, ctx_.stream), op);
  sync_and_check(op);
  return out;
}

void CudaBackend::score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s,
                              float* scores) {
  constexpr const char* op = "score_slots";
  if (num_rows <= 0) return;
  if (num_rows > kMaxRows) eviction_error(op, std::to_string(num_rows) + " rows, at most 65535");
  if (kv.block_size <= 0) eviction_error(op, "block size must be positive, got " + std::to_string(kv.block_size));
  activate();
  const std::vector<int32_t> offs = host_ints(offsets, num_rows + 1, op, "offsets");
  const std::vector<int32_t> indptr = host_ints(kv.indptr, num_rows + 1, op, "indptr");
  const std::vector<int32_t> lengths = host_ints(kv.lengths, num_rows, op, "lengths");
  const int64_t total = check_offsets(offs, op);
  for (int32_t r = 0; r < num_rows; ++r) {
    const size_t i = static_cast<size_t>(r);
    if (lengths[i] != offs[i + 1] - offs[i]) {
      eviction_error(op, "row " + std::to_string(r) + " has " + std::to_string(lengths[i]) +
                             " slots but offsets give " + std::to_string(offs[i + 1] - offs[i]));
    }
    if (indptr[i + 1] < indptr[i] || static_cast<int64_t>(lengths[i]) > int64_t{indptr[i + 1] - indptr[i]} * kv.block_size) {
      eviction_error(op, "row " + std::to_string(r) + " has more slots than its blocks hold");
    }
  }
  if (indptr.back() > 0) require(kv.indices, static_cast<size_t>(indptr.back()) * sizeof(int32_t), op, "indices");
  if (total == 0) return;
  require(scores, static_cast<size_t>(total) * sizeof(float), op, "scores");
  const int64_t pool_blocks = pool_slots(kv, op) / kv.block_size;
  float* raw = scratch<float>(select_scores_, static_cast<size_t>(total));
  int32_t* pos = scratch<int32_t>(select_ints_, static_cast<size_t>(total));
  launch_score_slots(ctx_, kv, num_rows, offsets, pool_blocks, s, raw, pos, scores);
}

void CudaBackend::select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) {
  constexpr const char* op = "select_slots";
  if (sel.num_rows <= 0) return;
  if (sel.num_rows > kMaxRows) eviction_error(op, std::to_string(sel.num_rows) + " rows, at most 65535");
  const bool cross_rows = sel.keep == nullptr;
  if (cross_rows && sel.group_size <= 0) {
    eviction_error(op, "group size must be positive, got " + std::to_string(sel.group_size));
  }
  activate();
  const std::vector<int32_t> offs = host_ints(sel.offsets, sel.num_rows + 1, op, "offsets");
  const int64_t total = check_offsets(offs, op);
  if (!cross_rows) require(sel.keep, static_cast<size_t>(sel.num_rows) * sizeof(int32_t), op, "keep");
  require(kept, static_cast<size_t>(sel.num_rows) * sizeof(int32_t), op, "kept");
  if (total > 0) {
    require(scores, static_cast<size_t>(total) * sizeof(float), op, "scores");
    require(retained, static_cast<size_t>(total) * sizeof(int32_t), op, "retained");
  }
  const size_t rows = static_cast<size_t>(sel.num_rows);
  // Ints: [rows + 1] group offsets, [2] the groups' one segment, [rows] evictions per row.
  std::vector<int32_t> layout(rows + 3, 0);
  if (cross_rows) {
    for (size_t r = 0; r < rows; ++r) layout[r + 1] = layout[r] + (offs[r + 1] - offs[r]) / sel.group_size;
    layout[rows + 2] = layout[rows];
  }
  const int64_t total_groups = layout[rows];
  SelectScratch s;
  // Keys: [total] keys, [total] sorted, [total_groups] costs; chosen flags after them.
  const size_t key_words = static_cast<size_t>(total) * (cross_rows ? 2 : 1) + static_cast<size_t>(total_groups);
  s.keys = scratch<uint32_t>(select_keys_, key_words + static_cast<size_t>(total_groups + 3) / 4 + 1);
  s.sorted = s.keys + total;
  s.group_costs = s.sorted + (cross_rows ? total : 0);
  s.chosen = reinterpret_cast<uint8_t*>(s.group_costs + total_groups);
  int32_t* ints = scratch<int32_t>(select_ints_, layout.size() + rows);
  s.group_offsets = ints;
  s.group_segment = ints + rows + 1;
  s.evict = ints + rows + 3;
  check_cuda(cudaMemcpyAsync(ints, layout.data(), layout.size() * sizeof(int32_t), cudaMemcpyHostToDevice, ctx_.stream),
             op);
  if (cross_rows && total_groups > 0) {
    s.sort_temp_bytes = select_sort_temp_bytes(total, sel.num_rows);
    s.sort_temp = scratch_bytes(select_sort_, s.sort_temp_bytes);
  }
  launch_select_slots(ctx_, scores, sel, total, total_groups, s, retained, kept);
  // `layout` is pageable host memory: cudaMemcpyAsync has staged it before returning.
}

}  // namespace kvwb::kernels::cuda
