#pragma once
// Host-side launchers of the CUDA kernels, one .cu file per op; CudaBackend (cuda_backend.cu)
// validates its arguments and calls these. Every pointer here is device memory unless noted,
// and every launcher enqueues on ctx.stream without synchronising. Shapes follow backend.h.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/backend.h"
#include "kernels/cuda/device_errors.h"

namespace kvwb::kernels::cuda {

struct OpContext {
  cudaStream_t stream = nullptr;
  DeviceErrorRecord* errors = nullptr;  // device memory
  int sm_count = 1;
  size_t max_shared_per_block = 48 * 1024;
};

// embedding.cu: out[n, table.cols] = table[ids[i], :] widened to f32. table: F32/F16/BF16.
void launch_embedding(const OpContext& ctx, const Matrix& table, const int32_t* ids, int64_t n, float* out);
// rmsnorm.cu: out[n, dim] = x / rms(x) * weight.
void launch_rmsnorm(const OpContext& ctx, const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                    float* out);
// rope.cu: in place on x[n, heads, head_dim]; pos[n], inv_freq[head_dim / 2].
void launch_rope(const OpContext& ctx, float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos,
                 const float* inv_freq, RopeStyle style);
// elementwise.cu: out[i] = silu(gate[i]) * up[i]; x[i] += y[i]; dst[i] = half(src[i]).
void launch_swiglu(const OpContext& ctx, const float* gate, const float* up, int64_t n, float* out);
void launch_add(const OpContext& ctx, float* x, const float* y, int64_t n);
// convert.cu: dst[count] (F16 or BF16 bits) = src[count] rounded to nearest even; f16
// saturates at ±65504 instead of overflowing to infinity.
void launch_to_half(const OpContext& ctx, const float* src, int64_t count, DType dtype, uint16_t* dst);

// kv_write.cu: the pool holds pool_slots slots; slots outside it are reported, not written.
void launch_kv_write(const OpContext& ctx, const PagedKv& kv, int64_t pool_slots, const float* k, const float* v,
                     int64_t num_tokens, const int32_t* dst_slot, const int32_t* pos);

// kv_move.cu: the fields of `count` slots, gathered (from[i] -> i) or scattered (i -> to[i]).
struct SlotFields {
  uint8_t* k = nullptr;   // [slots] rows of row_bytes (any KV dtype: copied as bytes)
  uint8_t* v = nullptr;   // [slots] rows of row_bytes
  int32_t* pos = nullptr; // [slots]
  float* att_sum = nullptr;
  float* att_sq = nullptr;
  float* n_obs = nullptr;
};
// dst slot (to ? to[i] : i) = src slot (from ? from[i] : i) for i < count, every field.
// row_bytes is even (every KV row size is).
void launch_copy_slots(const OpContext& ctx, const SlotFields& src, const SlotFields& dst, const int32_t* from,
                       const int32_t* to, int64_t count, int64_t row_bytes);

// score_slots.cu: Backend::score_slots; offsets checked on the host, block ids outside
// [0, pool_blocks) reported. raw: [offsets[rows]] f32, pos: [offsets[rows]] int32 (scratch).
void launch_score_slots(const OpContext& ctx, const PagedKv& kv, int32_t num_rows, const int32_t* offsets,
                        int64_t pool_blocks, const SlotScoring& s, float* raw, int32_t* pos, float* scores);

// select_slots.cu: Backend::select_slots. total = offsets[rows]; total_groups = the sum over rows
// of floor(length / group_size) (cross-row selection only).
struct SelectScratch {
  uint32_t* keys = nullptr;           // [total]
  uint32_t* sorted = nullptr;         // [total] (cross-row only, as the rest)
  uint32_t* group_costs = nullptr;    // [total_groups]
  int32_t* group_offsets = nullptr;   // [rows + 1] prefix sums of the rows' group counts
  int32_t* group_segment = nullptr;   // [2] = {0, total_groups}
  uint8_t* chosen = nullptr;          // [total_groups]
  int32_t* evict = nullptr;           // [rows]
  void* sort_temp = nullptr;
  size_t sort_temp_bytes = 0;
};
size_t select_sort_temp_bytes(int64_t total, int32_t rows);
void launch_select_slots(const OpContext& ctx, const float* scores, const SlotSelection& sel, int64_t total,
                         int64_t total_groups, const SelectScratch& s, int32_t* retained, int32_t* kept);

// sample.cu
// best[0] = argmax of logits[vocab] (lowest index among ties; 0 when logits[0] is NaN, as on the CPU).
void launch_argmax(const OpContext& ctx, const float* logits, int64_t vocab, int32_t* best);
// Scratch for top-p sampling; sizes from top_p_scratch_bytes(vocab).
struct TopPScratch {
  double* keys_in = nullptr;    // [vocab]
  double* keys_out = nullptr;   // [vocab]
  int32_t* ids_in = nullptr;    // [vocab]
  int32_t* ids_out = nullptr;   // [vocab]
  double* z = nullptr;          // [1]
  void* sort_temp = nullptr;
  size_t sort_temp_bytes = 0;
};
size_t top_p_sort_temp_bytes(int64_t vocab);
// result[0] = the token the CPU's sampler picks for the same logits, params and uniform.
void launch_top_p(const OpContext& ctx, const float* logits, int64_t vocab, const SamplingParams& params,
                  float uniform, const TopPScratch& scratch, int32_t* result);

}  // namespace kvwb::kernels::cuda
