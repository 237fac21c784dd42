#pragma once
// A Backend decorator that times every op: each call opens one ScopedSpan (Category::op, a fixed
// name such as "matmul", shape args) on the calling thread's current profiler and forwards to
// the inner backend. With no current profiler bound (CurrentProfiler) an op costs one extra
// virtual call and one branch, so a Run can keep it in place whether profiling is on or off.
//
// Spans time the op as the host sees it: for CUDA that is the launch (GPU time comes from CUPTI
// kernel records attributed to the op through its "op_id").
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace kvwb::kernels {

class ProfiledBackend final : public Backend {
 public:
  // Wraps `inner`, which must outlive this object.
  explicit ProfiledBackend(Backend& inner) : inner_(inner) {}

  Backend& inner() const { return inner_; }
  std::string name() const override { return inner_.name(); }

  void* alloc(size_t bytes) override;
  void free(void* ptr) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  Matrix upload(const Matrix& host) override;
  void synchronize() override;

  void embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out) override;
  void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out) override;
  void matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y) override;
  void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
            RopeStyle style) override;
  void swiglu(const float* gate, const float* up, int64_t n, float* out) override;
  void add(float* x, const float* y, int64_t n) override;
  void kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens, const int32_t* dst_slot,
                const int32_t* pos) override;
  void kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) override;
  void paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out) override;
  void score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s,
                   float* scores) override;
  void select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) override;
  int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) override;

 private:
  Backend& inner_;
};

}  // namespace kvwb::kernels
