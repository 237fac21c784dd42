#pragma once
// The one op set of kvwb, behind one interface with a CPU and a CUDA implementation (ggml's
// backend idea). The model code calls these ops and never knows where they run. Kernels know
// nothing of models, policies or requests: they take pointers, shapes and block tables.
//
// Pointers passed to ops are backend memory (host memory for the CPU backend, device memory for
// CUDA) obtained from alloc(); weights are uploaded once with upload().
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/eviction.h"
#include "kernels/kv_dtype.h"

namespace kvwb::kernels {

// A weight matrix in its stored dtype, row-major [rows = out_features, cols = in_features]
// (the HF nn.Linear layout; GGUF's [in, out] dims describe the same bytes).
struct Matrix {
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
};

enum class RopeStyle : uint8_t {
  Half,  // HF Llama / NEOX: rotate (x[i], x[i + d/2])
  Pair,  // GGUF llama (permuted weights): rotate (x[2i], x[2i+1])
};

// The paged KV cache of one layer (FlashInfer-style CSR). Block b of the pool holds
// `block_size` slots of one KV head. K and V are byte pools of rows in `dtype` (kernels/kv_dtype.h:
// f32, f16, bf16, q8_0 or q4_0): slot s's K row is the kv_row_bytes(dtype, head_dim) bytes at
// k_pool + s * row_bytes() (s = b * block_size + offset), V likewise; kv_write rounds each row on
// its own, attention reads the rows in that dtype. Every slot has its original token position
// and the attention statistics policies read (f32 whatever the dtype).
// Row r = seq * num_kv_heads + head of the CSR lists that (sequence, head)'s blocks in order:
// indices[indptr[r] .. indptr[r+1]) with lengths[r] slots in use (slots are filled in order,
// block by block; the last block may be partial).
struct PagedKv {
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t block_size = 0;
  void* k_pool = nullptr;        // [num_blocks, block_size] rows of row_bytes()
  void* v_pool = nullptr;        // [num_blocks, block_size] rows of row_bytes()
  int32_t* slot_pos = nullptr;   // [num_blocks, block_size] original token position
  float* att_sum = nullptr;      // [num_blocks, block_size] sum of attention probabilities received
  float* att_sq = nullptr;       // [num_blocks, block_size] sum of their squares
  float* n_obs = nullptr;        // [num_blocks, block_size] (query, head) pairs that could see it
  const int32_t* indptr = nullptr;   // [num_rows + 1]
  const int32_t* indices = nullptr;  // [indptr[num_rows]] physical block ids
  const int32_t* lengths = nullptr;  // [num_rows] slots in use per (seq, head)
  DType dtype = DType::F32;          // of the K and V rows; head_dim a multiple of its block

  size_t row_bytes() const { return kv_row_bytes(dtype, head_dim); }
  // Slot s's K / V row.
  uint8_t* k_row(int64_t s) const { return static_cast<uint8_t*>(k_pool) + static_cast<size_t>(s) * row_bytes(); }
  uint8_t* v_row(int64_t s) const { return static_cast<uint8_t*>(v_pool) + static_cast<size_t>(s) * row_bytes(); }
};

// The queries of one step: tokens of possibly many sequences (a prefill chunk is several
// consecutive tokens of one sequence, a decode token is one).
struct AttentionBatch {
  int32_t num_tokens = 0;
  int32_t num_heads = 0;          // query heads; num_heads % kv.num_kv_heads == 0 (GQA)
  const int32_t* token_seq = nullptr;  // [num_tokens] sequence row index into the CSR (seq)
  const int32_t* token_pos = nullptr;  // [num_tokens] causal: sees slots with slot_pos <= pos
  const uint8_t* observe = nullptr;    // [num_tokens] or null: add this query's attention to the stats
  float scale = 1.0f;                  // usually 1/sqrt(head_dim)
};

struct SamplingParams {
  float temperature = 0.0f;  // 0 = greedy
  float top_p = 1.0f;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Memory. alloc returns zeroed memory aligned to 64 bytes; out of memory: std::bad_alloc (out_of_memory.h).
  virtual void* alloc(size_t bytes) = 0;
  virtual void free(void* ptr) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  // Backend-to-backend copy; the default goes through the host (backends override it).
  virtual void copy(void* dst, const void* src, size_t bytes) {
    std::vector<uint8_t> host(bytes);
    copy_to_host(host.data(), src, bytes);
    copy_from_host(dst, host.data(), bytes);
  }
  // Makes a host weight (e.g. memory-mapped) usable by ops; the CPU backend returns it as is.
  virtual Matrix upload(const Matrix& host) = 0;
  virtual void synchronize() {}

  // out[n, cols] = table[ids[i], :] widened to f32.                table: [vocab, cols]
  virtual void embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out) = 0;
  // out[n, dim] = x / rms(x) * weight.                               x, out: [n, dim]
  virtual void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                       float* out) = 0;
  // y[n, w.rows] = x[n, w.cols] · wᵀ (+ bias[w.rows] if given).    f32 accumulation
  virtual void matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y) = 0;
  // In place on x[n, heads, head_dim]: rotate by angle pos[i] * inv_freq[j], j < head_dim / 2.
  virtual void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos,
                    const float* inv_freq, RopeStyle style) = 0;
  // out[i] = silu(gate[i]) * up[i] for i < n. out may alias gate or up.
  virtual void swiglu(const float* gate, const float* up, int64_t n, float* out) = 0;
  // x[i] += y[i] for i < n.
  virtual void add(float* x, const float* y, int64_t n) = 0;

  // Writes token t's K and V rows of head h ([num_tokens, num_kv_heads, head_dim], f32) into
  // slot dst_slot[t * num_kv_heads + h] (= block * block_size + offset) of the pool, rounded to
  // kv.dtype as quantize_row (kernels/quant.h) does, records its position pos[t] and clears its
  // statistics.
  virtual void kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens,
                        const int32_t* dst_slot, const int32_t* pos) = 0;
  // Compaction: for i < n, copies slot src[i] (K, V, position and statistics) to slot dst[i].
  // Host arrays; applied in order, so a slot may be a destination after it was a source. The
  // default goes through the host one slot at a time; backends override it with one kernel.
  virtual void kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t s = src[i], d = dst[i];
      if (s == d) continue;
      copy(kv.k_row(d), kv.k_row(s), kv.row_bytes());
      copy(kv.v_row(d), kv.v_row(s), kv.row_bytes());
      copy(kv.slot_pos + d, kv.slot_pos + s, sizeof(int32_t));
      copy(kv.att_sum + d, kv.att_sum + s, sizeof(float));
      copy(kv.att_sq + d, kv.att_sq + s, sizeof(float));
      copy(kv.n_obs + d, kv.n_obs + s, sizeof(float));
    }
  }
  // out[t, h, :] = softmax(q[t, h] · Kᵀ · scale) · V over the slots of (token_seq[t], h / group)
  // whose position <= token_pos[t]. q, out: [num_tokens, num_heads, head_dim] f32; K and V are
  // read in kv.dtype (the values dequantize_row gives), never copied to f32 as a whole.
  // Where observe[t], adds every visible slot's probability (summed over the group's query
  // heads) to att_sum, its square to att_sq, and the group size to n_obs.
  virtual void paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv,
                               float* out) = 0;

  // Eviction scoring: the slots of CSR rows [0, num_rows) of kv (indptr, indices, lengths set;
  // the (layer, head) rows of one sequence) scored as `s` says (kernels/eviction.h: statistic,
  // pooling, kKeepScore for protected slots) into scores[offsets[r] + i], i < lengths[r].
  // offsets: [num_rows + 1] prefix sums of lengths; scores: [offsets[num_rows]].
  virtual void score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s,
                           float* scores) = 0;
  // Eviction selection on scores[offsets[num_rows]] (sel.offsets and sel.keep in backend
  // memory): retained[offsets[r] .. offsets[r] + kept[r]) = the slot indices row r keeps,
  // ascending (rest of retained unspecified). kept: [num_rows]. The same choice on every
  // backend, tie-breaking included (select_slots_reference in kernels/eviction.h).
  virtual void select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) = 0;

  // Picks one token from logits[vocab] (argmax when temperature == 0). `uniform` is a number
  // in [0, 1) drawn by the caller's seeded generator, so results do not depend on the backend.
  virtual int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params,
                         float uniform) = 0;
};

// The CPU backend's default weights_cache_bytes: f32 copies of the weights for the
// compute-bound matmuls (kernels/cpu/weights_cache.h). 1 GiB holds SmolLM2-135M (540 MB in f32)
// and models up to about 250M parameters; 0 turns the cache off.
constexpr size_t kDefaultWeightsCacheBytes = size_t{1} << 30;

// How the CPU backend multiplies by Q8_0, Q4_0 and Q4_1 weights (RunConfig's `matmul`):
//   exact  f32 activations: equal to the f32 dequantized model up to the order of f32 sums
//   fast   activations quantized per block of 32 to int8 and integer dot products
//          (kernels/cpu/int8_dot.h): changes logits slightly; other weight types stay exact
enum class MatmulMode : unsigned char { exact, fast };

// The CPU backend (always built). `threads` = 0 uses every core.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0, size_t weights_cache_bytes = kDefaultWeightsCacheBytes,
                                          MatmulMode matmul = MatmulMode::exact);

}  // namespace kvwb::kernels
