#include "kernels/profiled_backend.h"

#include "profiler/scoped_span.h"

namespace kvwb::kernels {

// Span names and arg keys are literals: the profiler stores them as pointers.

void* ProfiledBackend::alloc(size_t bytes) {
  ScopedSpan span("alloc");
  span.arg("bytes", static_cast<int64_t>(bytes));
  return inner_.alloc(bytes);
}

void ProfiledBackend::free(void* ptr) {
  ScopedSpan span("free");
  inner_.free(ptr);
}

void ProfiledBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  ScopedSpan span("copy_to_host");
  span.arg("bytes", static_cast<int64_t>(bytes));
  inner_.copy_to_host(dst, src, bytes);
}

void ProfiledBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  ScopedSpan span("copy_from_host");
  span.arg("bytes", static_cast<int64_t>(bytes));
  inner_.copy_from_host(dst, src, bytes);
}

void ProfiledBackend::copy(void* dst, const void* src, size_t bytes) {
  ScopedSpan span("copy");
  span.arg("bytes", static_cast<int64_t>(bytes));
  inner_.copy(dst, src, bytes);
}

Matrix ProfiledBackend::upload(const Matrix& host) {
  ScopedSpan span("upload");
  span.arg("rows", host.rows).arg("cols", host.cols);
  return inner_.upload(host);
}

void ProfiledBackend::synchronize() {
  ScopedSpan span("synchronize");
  inner_.synchronize();
}

void ProfiledBackend::embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out) {
  ScopedSpan span("embedding");
  span.arg("n", n).arg("cols", table.cols);
  inner_.embedding(table, ids, n, out);
}

void ProfiledBackend::rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out) {
  ScopedSpan span("rmsnorm");
  span.arg("n", n).arg("dim", dim);
  inner_.rmsnorm(x, weight, n, dim, eps, out);
}

void ProfiledBackend::matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y) {
  ScopedSpan span("matmul");
  span.arg("n", n).arg("rows", w.rows).arg("cols", w.cols);
  inner_.matmul(x, n, w, bias, y);
}

void ProfiledBackend::rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos,
                           const float* inv_freq, RopeStyle style) {
  ScopedSpan span("rope");
  span.arg("n", n).arg("heads", heads).arg("head_dim", head_dim);
  inner_.rope(x, n, heads, head_dim, pos, inv_freq, style);
}

void ProfiledBackend::swiglu(const float* gate, const float* up, int64_t n, float* out) {
  ScopedSpan span("swiglu");
  span.arg("n", n);
  inner_.swiglu(gate, up, n, out);
}

void ProfiledBackend::add(float* x, const float* y, int64_t n) {
  ScopedSpan span("add");
  span.arg("n", n);
  inner_.add(x, y, n);
}

void ProfiledBackend::kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens,
                               const int32_t* dst_slot, const int32_t* pos) {
  ScopedSpan span("kv_write");
  span.arg("tokens", num_tokens).arg("kv_heads", kv.num_kv_heads);
  inner_.kv_write(kv, k, v, num_tokens, dst_slot, pos);
}

void ProfiledBackend::kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) {
  ScopedSpan span("kv_move");
  span.arg("slots", n);
  inner_.kv_move(kv, src, dst, n);
}

void ProfiledBackend::paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out) {
  ScopedSpan span("paged_attention");
  span.arg("tokens", batch.num_tokens).arg("heads", batch.num_heads).arg("head_dim", kv.head_dim);
  inner_.paged_attention(batch, q, kv, out);
}

void ProfiledBackend::score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s,
                                  float* scores) {
  ScopedSpan span("score_slots");
  span.arg("rows", num_rows);
  inner_.score_slots(kv, num_rows, offsets, s, scores);
}

void ProfiledBackend::select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) {
  ScopedSpan span("select_slots");
  span.arg("rows", sel.num_rows);
  inner_.select_slots(scores, sel, retained, kept);
}

int32_t ProfiledBackend::sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) {
  ScopedSpan span("sample");
  span.arg("vocab", vocab);
  return inner_.sample(logits, vocab, params, uniform);
}

}  // namespace kvwb::kernels
