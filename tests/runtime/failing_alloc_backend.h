#pragma once
// A test Backend that forwards every op to a real one but throws std::bad_alloc (what a real
// allocator throws) on its Nth alloc, and keeps the set of live allocations: after the code under
// test is gone, live() must be empty (no leak) and bad_frees() zero (no double or foreign free),
// with or without a sanitizer. The reliability tests use it too.
#include <cstdint>
#include <new>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/out_of_memory.h"

namespace kvwb::testing_support {

class FailingAllocBackend final : public kernels::Backend {
 public:
  // fail_at: the 1-based alloc that throws; 0 = none. With a `reason` it throws what a device
  // backend throws when its memory runs out (kernels::OutOfMemory, a std::bad_alloc) instead.
  FailingAllocBackend(kernels::Backend& inner, int64_t fail_at, std::string reason = {})
      : inner_(inner), fail_at_(fail_at), reason_(std::move(reason)) {}

  int64_t allocs() const { return allocs_; }
  // The bytes every alloc asked for, in order (the failing one too): a test picks the one to fail.
  const std::vector<size_t>& sizes() const { return sizes_; }
  const std::set<void*>& live() const { return live_; }
  int64_t bad_frees() const { return bad_frees_; }

  std::string name() const override { return inner_.name(); }
  void* alloc(size_t bytes) override {
    sizes_.push_back(bytes);
    if (++allocs_ == fail_at_) {
      if (!reason_.empty()) throw kernels::OutOfMemory(reason_);
      throw std::bad_alloc();
    }
    void* p = inner_.alloc(bytes);
    live_.insert(p);
    return p;
  }
  void free(void* ptr) override {
    if (live_.erase(ptr) == 0) {
      ++bad_frees_;  // not ours, or freed already: never pass it on
      return;
    }
    inner_.free(ptr);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { inner_.copy_to_host(dst, src, bytes); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { inner_.copy_from_host(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { inner_.copy(dst, src, bytes); }
  kernels::Matrix upload(const kernels::Matrix& host) override { return inner_.upload(host); }
  void synchronize() override { inner_.synchronize(); }
  void embedding(const kernels::Matrix& table, const int32_t* ids, int64_t n, float* out) override {
    inner_.embedding(table, ids, n, out);
  }
  void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out) override {
    inner_.rmsnorm(x, weight, n, dim, eps, out);
  }
  void matmul(const float* x, int64_t n, const kernels::Matrix& w, const float* bias, float* y) override {
    inner_.matmul(x, n, w, bias, y);
  }
  void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
            kernels::RopeStyle style) override {
    inner_.rope(x, n, heads, head_dim, pos, inv_freq, style);
  }
  void swiglu(const float* gate, const float* up, int64_t n, float* out) override { inner_.swiglu(gate, up, n, out); }
  void add(float* x, const float* y, int64_t n) override { inner_.add(x, y, n); }
  void kv_write(const kernels::PagedKv& kv, const float* k, const float* v, int64_t num_tokens, const int32_t* dst_slot,
                const int32_t* pos) override {
    inner_.kv_write(kv, k, v, num_tokens, dst_slot, pos);
  }
  void kv_move(const kernels::PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) override {
    inner_.kv_move(kv, src, dst, n);
  }
  void paged_attention(const kernels::AttentionBatch& batch, const float* q, const kernels::PagedKv& kv,
                       float* out) override {
    inner_.paged_attention(batch, q, kv, out);
  }
  void score_slots(const kernels::PagedKv& kv, int32_t num_rows, const int32_t* offsets, const kernels::SlotScoring& s,
                   float* scores) override {
    inner_.score_slots(kv, num_rows, offsets, s, scores);
  }
  void select_slots(const float* scores, const kernels::SlotSelection& sel, int32_t* retained, int32_t* kept) override {
    inner_.select_slots(scores, sel, retained, kept);
  }
  int32_t sample(const float* logits, int64_t vocab, const kernels::SamplingParams& params, float uniform) override {
    return inner_.sample(logits, vocab, params, uniform);
  }

 private:
  kernels::Backend& inner_;
  int64_t fail_at_;
  std::string reason_;
  int64_t allocs_ = 0;
  std::vector<size_t> sizes_;
  std::set<void*> live_;
  int64_t bad_frees_ = 0;
};

}  // namespace kvwb::testing_support
