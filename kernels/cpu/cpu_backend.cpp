// The CPU backend: host memory, and ops that forward to the kernels in this folder with the
// backend's thread count (OpenMP for our loops, the same count for OpenBLAS).
#include <omp.h>

#include <cstdlib>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/weights_cache.h"
#include "kernels/out_of_memory.h"

namespace kvwb::kernels {
namespace {

class CpuBackend final : public Backend {
  static constexpr size_t kMapThreshold = size_t{1} << 20;
  std::mutex mapped_mutex_;
  std::unordered_map<void*, size_t> mapped_;

 public:
  CpuBackend(int threads, size_t weights_cache_bytes, MatmulMode matmul)
      : threads_(threads > 0 ? threads : omp_get_num_procs()), matmul_(matmul), weights_cache_(weights_cache_bytes) {
    cpu::active_isa();  // a bad KVWB_CPU_ISA fails here, before any op
    cpu::set_blas_threads(threads_);
  }

  std::string name() const override { return "cpu"; }

  void* alloc(size_t bytes) override {
    if (bytes >= kMapThreshold) {
      // Large buffers (the KV pool) come straight from the kernel: page-aligned and zero
      // pages mapped lazily, so a big pool costs nothing until it is used.
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        const int error = errno;  // before anything else can change it
        throw OutOfMemory(std::string("mmap: ") + std::strerror(error));
      }
      std::lock_guard<std::mutex> lock(mapped_mutex_);
      mapped_[p] = bytes;
      return p;
    }
    const size_t rounded = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (p == nullptr) throw OutOfMemory("aligned_alloc failed");
    std::memset(p, 0, rounded);
    return p;
  }
  void free(void* ptr) override {
    {
      std::lock_guard<std::mutex> lock(mapped_mutex_);
      auto it = mapped_.find(ptr);
      if (it != mapped_.end()) {
        ::munmap(ptr, it->second);
        mapped_.erase(it);
        return;
      }
    }
    std::free(ptr);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  Matrix upload(const Matrix& host) override {
    weights_cache_.add(host);
    return host;
  }

  void embedding(const Matrix& table, const int32_t* ids, int64_t n, float* out) override {
    cpu::embedding(table, ids, n, out, threads_);
  }
  void rmsnorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out) override {
    cpu::rmsnorm(x, weight, n, dim, eps, out, threads_);
  }
  void matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y) override {
    cpu::matmul(x, n, w, bias, y, threads_, &weights_cache_, matmul_);
  }
  void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
            RopeStyle style) override {
    cpu::rope(x, n, heads, head_dim, pos, inv_freq, style, threads_);
  }
  void swiglu(const float* gate, const float* up, int64_t n, float* out) override {
    cpu::swiglu(gate, up, n, out, threads_);
  }
  void add(float* x, const float* y, int64_t n) override { cpu::add(x, y, n, threads_); }
  void kv_write(const PagedKv& kv, const float* k, const float* v, int64_t num_tokens, const int32_t* dst_slot,
                const int32_t* pos) override {
    cpu::kv_write(kv, k, v, num_tokens, dst_slot, pos, threads_);
  }
  void kv_move(const PagedKv& kv, const int32_t* src, const int32_t* dst, int64_t n) override {
    cpu::kv_move(kv, src, dst, n);
  }
  void paged_attention(const AttentionBatch& batch, const float* q, const PagedKv& kv, float* out) override {
    cpu::paged_attention(batch, q, kv, out, threads_);
  }
  void score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s,
                   float* scores) override {
    cpu::score_slots(kv, num_rows, offsets, s, scores);
  }
  void select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) override {
    cpu::select_slots(scores, sel, retained, kept);
  }
  int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) override {
    return cpu::sample(logits, vocab, params, uniform);
  }

 private:
  int threads_;
  MatmulMode matmul_;
  cpu::WeightsCache weights_cache_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads, size_t weights_cache_bytes, MatmulMode matmul) {
  return std::make_unique<CpuBackend>(threads, weights_cache_bytes, matmul);
}

}  // namespace kvwb::kernels
