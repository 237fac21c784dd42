#pragma once
// The CUDA backend: device memory, one stream, and the op set of kernels/backend.h on the GPU
// (cuBLASLt GEMMs, own kernels for the rest; one op per .cu file in this folder).
//
// Memory: alloc() is cudaMalloc + zeroing on the backend's stream; every allocation is
// registered, and ops check their pointer arguments against it before launching, so a buffer
// that is too small or not device memory is a clear std::runtime_error, never a stray read.
// upload() copies a host weight to the device in its stored dtype (f16/bf16 stay 16-bit).
//
// Errors kernels find in device-side data (token ids, slot and block ids, block tables) are
// reported at the next synchronising call: copy_to_host, synchronize or sample.
//
// Everything is enqueued on one stream in call order, so ops need no synchronisation between
// them. copy_from_host may return before the copy is done only for pinned host memory; from
// ordinary (pageable) memory the source can be reused as soon as it returns. Not thread-safe:
// one thread drives a backend at a time (any thread; each call selects the backend's device).
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/allocation_registry.h"
#include "kernels/cuda/cuda_device.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {

class GemmRunner;

class CudaBackend final : public Backend {
 public:
  // Throws std::runtime_error("no CUDA device: <reason>") when the device is not usable.
  explicit CudaBackend(int device = 0);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }

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
  // Logits in device memory (what the engine and generate() pass) are sampled on the GPU and
  // only the token id is copied back; logits in host memory with the CPU's sampler: the same
  // choice either way.
  int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) override;
  void score_slots(const PagedKv& kv, int32_t num_rows, const int32_t* offsets, const SlotScoring& s,
                   float* scores) override;
  void select_slots(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) override;

  cudaStream_t stream() const { return ctx_.stream; }
  const CudaDeviceInfo& device_info() const { return info_; }
  bool owns(const void* p) const { return registry_.contains(p); }

 private:
  // Device buffers for the ops' intermediate data, grown on demand, contents not kept.
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  void* scratch_bytes(Scratch& s, size_t bytes);
  template <typename T>
  T* scratch(Scratch& s, size_t count) {
    return static_cast<T*>(scratch_bytes(s, count * sizeof(T)));
  }
  // Throws "<op>: <arg> ..." unless [p, p + bytes) lies inside one allocation of this backend.
  void require(const void* p, size_t bytes, const char* op, const char* arg) const;
  // Elements of T readable from p (0 when p is not ours).
  template <typename T>
  int64_t capacity(const void* p) const {
    const auto b = registry_.bytes_from(p);
    return b ? static_cast<int64_t>(*b / sizeof(T)) : 0;
  }
  // Slots every array of the pool can hold; throws when a pool array is not ours.
  int64_t pool_slots(const PagedKv& kv, const char* op) const;
  void activate() const;
  // Waits for the stream, then throws the first error a kernel reported (and clears it).
  void sync_and_check(const char* what);
  // Host copy of a small int32 array of this backend (CSR offsets, lengths): eviction ops lay
  // out their work from them.
  std::vector<int32_t> host_ints(const int32_t* p, int64_t count, const char* op, const char* arg);

  CudaDeviceInfo info_;
  OpContext ctx_;
  DeviceErrorRecord* host_errors_ = nullptr;  // pinned
  int32_t* host_result_ = nullptr;            // pinned
  AllocationRegistry registry_;
  std::unique_ptr<GemmRunner> gemm_;
  Scratch narrowed_x_, att_items_, att_parts_, att_lse_, move_index_, move_stage_, sample_keys_, sample_ids_,
      sample_misc_, sample_sort_, select_scores_, select_ints_, select_keys_, select_sort_;
};

// Convenience for the factory: a CudaBackend on `device`, or std::runtime_error("no CUDA
// device: <reason>").
std::unique_ptr<Backend> make_cuda_backend(int device = 0);

}  // namespace kvwb::kernels::cuda
