// CudaBackend's ops: check the arguments on the host (shapes, and that every pointer is device
// memory of this backend large enough for the op), then enqueue the kernels of this folder.
// Messages follow the CPU backend's ("rope: head_dim must be positive and even, got 7").
#include <algorithm>
#include <climits>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/paged_attention.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr size_t kF = sizeof(float);
constexpr size_t kI = sizeof(int32_t);

[[noreturn]] void op_error(const char* op, const std::string& problem) {
  throw std::runtime_error(std::string(op) + ": " + problem);
}

bool plain_dtype(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

size_t sz(int64_t v) { return static_cast<size_t>(v); }

}  // namespace

void CudaBackend::embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out) {
  if (!plain_dtype(table.dtype)) {
    op_error("embedding", "dtype " + std::string(dtype_info(table.dtype).name) + " not supported by the CUDA backend yet");
  }
  if (n <= 0 || table.cols <= 0) return;
  activate();
  require(ids, sz(n) * kI, "embedding", "ids");
  require(out, sz(n * table.cols) * kF, "embedding", "out");
  require(table.data, dtype_bytes(table.dtype, table.cols) * sz(std::max<int64_t>(table.rows, 0)), "embedding",
          "table");
  launch_embedding(ctx_, table, ids, n, out);
}

void CudaBackend::rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out) {
  if (dim <= 0) op_error("rmsnorm", "dimension must be positive, got " + std::to_string(dim));
  if (n <= 0) return;
  activate();
  require(x, sz(n * dim) * kF, "rmsnorm", "x");
  require(weight, sz(dim) * kF, "rmsnorm", "weight");
  require(out, sz(n * dim) * kF, "rmsnorm", "out");
  launch_rmsnorm(ctx_, x, weight, n, dim, eps, out);
}

void CudaBackend::matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y) {
  if (!plain_dtype(w.dtype)) {
    op_error("matmul", "dtype " + std::string(dtype_info(w.dtype).name) + " not supported by the CUDA backend yet");
  }
  if (n < 0 || w.rows < 0 || w.cols < 0) op_error("matmul", "negative shape");
  if (n == 0 || w.rows == 0) return;
  activate();
  require(y, sz(n * w.rows) * kF, "matmul", "y");
  if (bias != nullptr) require(bias, sz(w.rows) * kF, "matmul", "bias");
  if (w.cols == 0) {  // an empty sum: y is the bias (or zero)
    for (int64_t i = 0; i < n; ++i) {
      float* row = y + i * w.rows;
      const cudaError_t e = bias != nullptr ? cudaMemcpyAsync(row, bias, sz(w.rows) * kF, cudaMemcpyDeviceToDevice, ctx_.stream)
                                            : cudaMemsetAsync(row, 0, sz(w.rows) * kF, ctx_.stream);
      check_cuda(e, "matmul");
    }
    return;
  }
  if (w.data == nullptr) op_error("matmul", "weight matrix has no data");
  require(x, sz(n * w.cols) * kF, "matmul", "x");
  require(w.data, dtype_bytes(w.dtype, w.cols) * sz(w.rows), "matmul", "weights");
  if (w.dtype == DType::F32) {
    gemm_->run(x, n, w, bias, y);
    return;
  }
  uint16_t* narrowed = scratch<uint16_t>(narrowed_x_, sz(n * w.cols));
  launch_to_half(ctx_, x, n * w.cols, w.dtype, narrowed);
  gemm_->run(narrowed, n, w, bias, y);
}

void CudaBackend::rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
                       RopeStyle style) {
  if (head_dim <= 0 || head_dim % 2 != 0) {
    op_error("rope", "head_dim must be positive and even, got " + std::to_string(head_dim));
  }
  if (n <= 0 || heads <= 0) return;
  activate();
  require(x, sz(n * heads * head_dim) * kF, "rope", "x");
  require(pos, sz(n) * kI, "rope", "pos");
  require(inv_freq, sz(head_dim / 2) * kF, "rope", "inv_freq");
  launch_rope(ctx_, x, n, heads, head_dim, pos, inv_freq, style);
}

void CudaBackend::swiglu(const float* gate, const float* up, int64_t n, float* out) {
  if (n <= 0) return;
  activate();
  require(gate, sz(n) * kF, "swiglu", "gate");
  require(up, sz(n) * kF, "swiglu", "up");
  require(out, sz(n) * kF, "swiglu", "out");
  launch_swiglu(ctx_, gate, up, n, out);
}

void CudaBackend::add(float* x, const float* y, int64_t n) {
  if (n <= 0) return;
  activate();
  require(x, sz(n) * kF, "add", "x");
  require(y, sz(n) * kF, "add", "y");
  launch_add(ctx_, x, y, n);
}

void CudaBackend::kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens,
                           const int32_t* dst_slot, const int32_t* pos) {
  if (num_tokens <= 0) return;
  activate();
  const int64_t slots = pool_slots(kv, "kv_write");
  const int64_t rows = num_tokens * kv.num_kv_heads;
  require(k, sz(rows * kv.head_dim) * kF, "kv_write", "k");
  require(v, sz(rows * kv.head_dim) * kF, "kv_write", "v");
  require(dst_slot, sz(rows) * kI, "kv_write", "dst_slot");
  require(pos, sz(num_tokens) * kI, "kv_write", "pos");
  launch_kv_write(ctx_, kv, slots, k, v, num_tokens, dst_slot, pos);
}

void CudaBackend::kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) {
  if (n <= 0) return;
  activate();
  const int64_t slots = pool_slots(kv, "kv_move");
  for (int64_t i = 0; i < n; ++i) {
    for (const int32_t s : {src[i], dst[i]}) {
      if (s < 0) op_error("kv_move", "slot index " + std::to_string(s) + " is negative");
      if (s >= slots) op_error("kv_move", "slot " + std::to_string(s) + " is outside the pool of " + std::to_string(slots) + " slots");
    }
  }
  // The moves apply in order; follow each slot's content to its final place: after all moves,
  // slot d holds what slot origin[d] held before them. Gathering every origin first and then
  // scattering gives exactly that with two parallel kernels.
  std::unordered_map<int32_t, int32_t> origin;
  for (int64_t i = 0; i < n; ++i) {
    if (src[i] == dst[i]) continue;
    const auto it = origin.find(src[i]);
    origin[dst[i]] = it != origin.end() ? it->second : src[i];
  }
  std::vector<int32_t> index;  // [from..., to...]
  index.reserve(origin.size() * 2);
  std::vector<int32_t> to;
  for (const auto& [d, s] : origin) {
    if (d == s) continue;
    index.push_back(s);
    to.push_back(d);
  }
  const int64_t count = static_cast<int64_t>(to.size());
  if (count == 0) return;
  index.insert(index.end(), to.begin(), to.end());
  int32_t* d_index = scratch<int32_t>(move_index_, index.size());
  check_cuda(cudaMemcpyAsync(d_index, index.data(), index.size() * kI, cudaMemcpyHostToDevice, ctx_.stream), "kv_move");
  // Staging: the four 4-byte fields first (aligned), then the K rows and the V rows.
  const int64_t row = static_cast<int64_t>(kv.row_bytes());
  auto* stage = scratch<uint8_t>(move_stage_, sz(count * (2 * row + 16)));
  auto* meta = reinterpret_cast<float*>(stage);
  SlotFields pool{static_cast<uint8_t*>(kv.k_pool), static_cast<uint8_t*>(kv.v_pool), kv.slot_pos, kv.att_sum,
                  kv.att_sq, kv.n_obs};
  SlotFields staged{stage + 16 * count, stage + 16 * count + row * count, reinterpret_cast<int32_t*>(meta),
                    meta + count, meta + 2 * count, meta + 3 * count};
  launch_copy_slots(ctx_, pool, staged, d_index, nullptr, count, row);
  launch_copy_slots(ctx_, staged, pool, nullptr, d_index + count, count, row);
  // `index` is pageable host memory: cudaMemcpyAsync has staged it before returning.
}

void CudaBackend::paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out) {
  if (batch.num_tokens <= 0) return;
  activate();
  const AttentionConfig config = plan_attention(batch, kv, ctx_);
  const int64_t T = batch.num_tokens, H = batch.num_heads, D = kv.head_dim;
  require(q, sz(T * H * D) * kF, "paged_attention", "q");
  require(out, sz(T * H * D) * kF, "paged_attention", "out");
  require(batch.token_seq, sz(T) * kI, "paged_attention", "token_seq");
  require(batch.token_pos, sz(T) * kI, "paged_attention", "token_pos");
  if (batch.observe != nullptr) require(batch.observe, sz(T), "paged_attention", "observe");
  require(kv.indptr, kI, "paged_attention", "indptr");
  require(kv.lengths, kI, "paged_attention", "lengths");
  TableBounds bounds;
  bounds.indptr = capacity<int32_t>(kv.indptr);
  bounds.lengths = capacity<int32_t>(kv.lengths);
  // An empty block list may be a null pointer; then no row may have blocks.
  bounds.indices = kv.indices != nullptr ? capacity<int32_t>(kv.indices) : 0;
  if (kv.indices != nullptr) require(kv.indices, kI, "paged_attention", "indices");
  bounds.pool_blocks = pool_slots(kv, "paged_attention") / kv.block_size;

  AttentionScratch s;
  s.items = scratch<int32_t>(att_items_, sz(T) + 1);
  s.num_items = s.items + T;
  if (const size_t parts = partial_elems(batch, kv, config); parts > 0) {
    s.part_o = scratch<float>(att_parts_, parts * sz(D + 2));
    s.part_m = s.part_o + parts * sz(D);
    s.part_l = s.part_m + parts;
  }
  if (batch.observe != nullptr) {
    s.lse_m = scratch<float>(att_lse_, sz(T * H) * 2);
    s.lse_l = s.lse_m + T * H;
  }
  launch_paged_attention(ctx_, batch, q, kv, bounds, config, s, out);
}

int32_t CudaBackend::sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) {
  if (vocab <= 0) op_error("sample", "vocabulary size must be positive, got " + std::to_string(vocab));
  if (!registry_.contains(logits)) return cpu::sample(logits, vocab, params, uniform);  // host logits
  activate();
  require(logits, sz(vocab) * kF, "sample", "logits");
  int32_t* result = scratch<int32_t>(sample_misc_, 4);
  if (!(params.temperature > 0.0f)) {
    launch_argmax(ctx_, logits, vocab, result);
  } else {
    if (vocab > INT32_MAX / 2) op_error("sample", "vocabulary of " + std::to_string(vocab) + " is too large");
    TopPScratch t;
    t.keys_in = scratch<double>(sample_keys_, sz(vocab) * 2);
    t.keys_out = t.keys_in + vocab;
    t.ids_in = scratch<int32_t>(sample_ids_, sz(vocab) * 2);
    t.ids_out = t.ids_in + vocab;
    t.sort_temp_bytes = top_p_sort_temp_bytes(vocab);
    t.sort_temp = scratch_bytes(sample_sort_, t.sort_temp_bytes);
    t.z = reinterpret_cast<double*>(result + 2);  // 8-byte aligned: scratch is 256-byte aligned
    launch_top_p(ctx_, logits, vocab, params, uniform, t, result);
  }
  check_cuda(cudaMemcpyAsync(host_result_, result, kI, cudaMemcpyDeviceToHost, ctx_.stream), "sample");
  sync_and_check("sample");
  return *host_result_;
}

}  // namespace kvwb::kernels::cuda
