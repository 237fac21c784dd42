#pragma once
// The CPU implementations of the ops in kernels/backend.h, as free functions (one file per op
// family); CpuBackend (cpu_backend.cpp) forwards to them. `threads` is the OpenMP team size.
// Shapes are those documented in backend.h.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kernels/backend.h"

namespace kvwb::kernels::cpu {

// Throws std::runtime_error("<op>: <problem>"): kernels do not depend on the engine's error
// type, but keep its message shape. Always called before a parallel region, never inside one.
[[noreturn]] inline void op_error(std::string_view op, const std::string& problem) {
  throw std::runtime_error(std::string(op) + ": " + problem);
}

// matvec.cpp: y[n, rows] = x[n, cols] · wᵀ (+ bias) for small n, streaming each weight byte
// once (decode). Plain dtypes only (F32, F16, BF16).
void matvec(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads);
class WeightsCache;
// matmul.cpp: every n and weight dtype; picks matvec for small n and BLAS for the rest, on the
// f32 copy of w in `cache` (when given and w fits in it); with MatmulMode::fast, Q8_0, Q4_0 and
// Q4_1 weights take the integer dot products of int8_dot.h for every n instead.
void matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads,
            WeightsCache* cache = nullptr, MatmulMode mode = MatmulMode::exact);
// OpenBLAS's own thread count (process-wide).
void set_blas_threads(int threads);

// elementwise.cpp
void embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out, int threads);
void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out,
             int threads);
void swiglu(const float* gate, const float* up, int64_t n, float* out, int threads);
void add(float* x, const float* y, int64_t n, int threads);

// rope.cpp
void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos,
          const float* inv_freq, RopeStyle style, int threads);

// kv_ops.cpp. check_kv_dtype: op_error unless kv.dtype is a KV dtype that tiles head_dim.
void check_kv_dtype(const char* op, const PagedKv& kv);
void kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens,
              const int32_t* dst_slot, const int32_t* pos, int threads);
void kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n);

// attention.cpp
void paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out,
                     int threads);

// eviction_ops.cpp: Backend::score_slots / select_slots on host memory.
void score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s, float* scores);
void select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept);

// sampling.cpp
int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform);

}  // namespace kvwb::kernels::cpu
