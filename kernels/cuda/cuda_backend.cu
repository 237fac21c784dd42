// CudaBackend: lifetime, memory, copies, weight upload and error reporting. The ops are in
// cuda_backend_ops.cu.
#include "kernels/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/out_of_memory.h"

namespace kvwb::kernels::cuda {
namespace {

// After a cudaMalloc: out of device memory is an OutOfMemory (a std::bad_alloc, as on the CPU),
// so that BackendBuffer names the buffer that did not fit; any other failure a runtime_error.
void check_cuda_malloc(cudaError_t status, const std::string& what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // cleared: the next call must not report this failure again
  if (status == cudaErrorMemoryAllocation) {
    throw OutOfMemory(what + ": CUDA error " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
  }
  throw_cuda_error(what, status);
}

// cuBLASLt's recommended workspace on Hopper; enough for every algorithm on Ampere too.
constexpr size_t kGemmWorkspaceBytes = size_t{32} << 20;

size_t round_up_64(size_t bytes) { return bytes == 0 ? 64 : (bytes + 63) / 64 * 64; }

}  // namespace

CudaBackend::CudaBackend(int device) {
  info_ = probe_cuda_device(device);
  if (!info_.usable) throw std::runtime_error("no CUDA device: " + info_.reason);
  check_cuda(cudaSetDevice(device), "cuda backend (select device)");
  ctx_.sm_count = info_.sm_count;
  ctx_.max_shared_per_block = info_.max_shared_per_block;
  try {
    check_cuda(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "cuda backend (stream)");
    check_cuda(cudaMalloc(reinterpret_cast<void**>(&ctx_.errors), sizeof(DeviceErrorRecord)), "cuda backend");
    check_cuda(cudaMemset(ctx_.errors, 0, sizeof(DeviceErrorRecord)), "cuda backend");
    check_cuda(cudaHostAlloc(reinterpret_cast<void**>(&host_errors_), sizeof(DeviceErrorRecord), cudaHostAllocDefault),
               "cuda backend");
    check_cuda(cudaHostAlloc(reinterpret_cast<void**>(&host_result_), sizeof(int32_t), cudaHostAllocDefault),
               "cuda backend");
    *host_errors_ = DeviceErrorRecord{};
    gemm_ = std::make_unique<GemmRunner>(ctx_.stream, kGemmWorkspaceBytes);
  } catch (...) {
    if (host_result_ != nullptr) cudaFreeHost(host_result_);
    if (host_errors_ != nullptr) cudaFreeHost(host_errors_);
    if (ctx_.errors != nullptr) cudaFree(ctx_.errors);
    if (ctx_.stream != nullptr) cudaStreamDestroy(ctx_.stream);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(info_.device);
  cudaStreamSynchronize(ctx_.stream);
  gemm_.reset();
  // Whatever the caller did not free (uploaded weights, above all) goes with the backend.
  std::vector<void*> left;
  registry_.for_each([&](void* base, size_t) { left.push_back(base); });
  for (void* p : left) cudaFree(p);
  for (Scratch* s : {&narrowed_x_, &att_items_, &att_parts_, &att_lse_, &move_index_, &move_stage_, &sample_keys_,
                     &sample_ids_, &sample_misc_, &sample_sort_, &select_scores_, &select_ints_, &select_keys_, &select_sort_}) {
    if (s->ptr != nullptr) cudaFree(s->ptr);
  }
  cudaFreeHost(host_result_);
  cudaFreeHost(host_errors_);
  cudaFree(ctx_.errors);
  cudaStreamDestroy(ctx_.stream);
}

void CudaBackend::activate() const { check_cuda(cudaSetDevice(info_.device), "cuda backend (select device)"); }

void* CudaBackend::alloc(size_t bytes) {
  activate();
  const size_t rounded = round_up_64(bytes);
  void* p = nullptr;
  check_cuda_malloc(cudaMalloc(&p, rounded),  // 256-byte aligned
                    "alloc: cudaMalloc of " + std::to_string(rounded) + " bytes (" +
                        std::to_string(info_.total_memory >> 20) + " MiB on the device)");
  registry_.add(p, bytes);  // what the caller asked for: bounds checks hold them to it
  try {
    check_cuda(cudaMemsetAsync(p, 0, rounded, ctx_.stream), "alloc (zero)");
  } catch (...) {
    registry_.remove(p);
    cudaFree(p);
    throw;
  }
  return p;
}

void CudaBackend::free(void* ptr) {
  // Never throws: callers free in destructors.
  if (ptr == nullptr) return;
  if (!registry_.remove(ptr)) {
    std::fprintf(stderr, "kvwb cuda backend: free() of %p, which it did not allocate; ignored\n", ptr);
    return;
  }
  cudaSetDevice(info_.device);
  cudaFree(ptr);  // waits for kernels still using it
}

void CudaBackend::require(const void* p, size_t bytes, const char* op, const char* arg) const {
  if (bytes == 0) return;
  if (p == nullptr) throw std::runtime_error(std::string(op) + ": " + arg + " is null");
  const auto available = registry_.bytes_from(p);
  if (!available) {
    throw std::runtime_error(std::string(op) + ": " + arg + " is not memory of the CUDA backend (use alloc/upload)");
  }
  if (*available < bytes) {
    throw std::runtime_error(std::string(op) + ": " + arg + " holds " + std::to_string(*available) +
                             " bytes, the op needs " + std::to_string(bytes));
  }
}

int64_t CudaBackend::pool_slots(const PagedKv& kv, const char* op) const {
  if (kv.head_dim <= 0 || kv.num_kv_heads <= 0 || kv.block_size <= 0) {
    throw std::runtime_error(std::string(op) + ": invalid cache shape (kv heads " + std::to_string(kv.num_kv_heads) +
                             ", head_dim " + std::to_string(kv.head_dim) + ", block_size " +
                             std::to_string(kv.block_size) + ")");
  }
  if (const std::string problem = kv_dtype_problem(kv.dtype, kv.head_dim); !problem.empty()) {
    throw std::runtime_error(std::string(op) + ": kv dtype " + problem);
  }
  const int64_t row = static_cast<int64_t>(kv.row_bytes());
  const std::pair<const void*, const char*> arrays[] = {{kv.k_pool, "k_pool"},   {kv.v_pool, "v_pool"},
                                                       {kv.slot_pos, "slot_pos"}, {kv.att_sum, "att_sum"},
                                                       {kv.att_sq, "att_sq"},     {kv.n_obs, "n_obs"}};
  int64_t slots = INT64_MAX;
  for (const auto& [p, name] : arrays) require(p, 1, op, name);
  slots = std::min(slots, capacity<uint8_t>(kv.k_pool) / row);
  slots = std::min(slots, capacity<uint8_t>(kv.v_pool) / row);
  slots = std::min(slots, capacity<int32_t>(kv.slot_pos));
  slots = std::min(slots, capacity<float>(kv.att_sum));
  slots = std::min(slots, capacity<float>(kv.att_sq));
  slots = std::min(slots, capacity<float>(kv.n_obs));
  return slots;
}

void CudaBackend::sync_and_check(const char* what) {
  check_cuda(cudaMemcpyAsync(host_errors_, ctx_.errors, sizeof(DeviceErrorRecord), cudaMemcpyDeviceToHost, ctx_.stream),
             what);
  check_cuda(cudaStreamSynchronize(ctx_.stream), what);
  if (host_errors_->code == 0) return;
  const DeviceErrorRecord record = *host_errors_;
  *host_errors_ = DeviceErrorRecord{};
  check_cuda(cudaMemsetAsync(ctx_.errors, 0, sizeof(DeviceErrorRecord), ctx_.stream), what);
  throw std::runtime_error(describe_device_error(record));
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  activate();
  require(src, bytes, "copy_to_host", "src");
  if (bytes > 0) {
    check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx_.stream), "copy_to_host");
  }
  sync_and_check("copy_to_host");
}

void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  activate();
  require(dst, bytes, "copy_from_host", "dst");
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx_.stream), "copy_from_host");
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  activate();
  require(dst, bytes, "copy", "dst");
  require(src, bytes, "copy", "src");
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx_.stream), "copy");
}

Matrix CudaBackend::upload(const Matrix& host) {
  if (host.rows < 0 || host.cols < 0) throw std::runtime_error("upload: negative matrix shape");
  if (host.rows == 0 || host.cols == 0) return Matrix{host.dtype, host.rows, host.cols, nullptr};
  if (host.data == nullptr) throw std::runtime_error("upload: matrix has no data");
  if (registry_.contains(host.data)) return host;  // already on the device
  const DTypeInfo info = dtype_info(host.dtype);
  if (host.cols % info.block_elems != 0) {
    throw std::runtime_error("upload: a " + std::string(info.name) + " row of " + std::to_string(host.cols) +
                             " elements is not a whole number of " + std::to_string(info.block_elems) +
                             "-element blocks");
  }
  const size_t bytes = dtype_bytes(host.dtype, host.cols) * static_cast<size_t>(host.rows);
  void* device = alloc(bytes);
  try {
    check_cuda(cudaMemcpyAsync(device, host.data, bytes, cudaMemcpyHostToDevice, ctx_.stream), "upload");
    check_cuda(cudaStreamSynchronize(ctx_.stream), "upload");
  } catch (...) {
    free(device);
    throw;
  }
  return Matrix{host.dtype, host.rows, host.cols, device};
}

void CudaBackend::synchronize() {
  activate();
  sync_and_check("synchronize");
}

void* CudaBackend::scratch_bytes(Scratch& s, size_t bytes) {
  bytes = round_up_64(bytes);
  if (s.bytes >= bytes) return s.ptr;
  const size_t grown = std::max(bytes, s.bytes + s.bytes / 2);  // amortise regrowth
  if (s.ptr != nullptr) {
    cudaFree(s.ptr);  // waits for kernels still reading it
    s.ptr = nullptr;
    s.bytes = 0;
  }
  check_cuda_malloc(cudaMalloc(&s.ptr, grown), "cuda backend (scratch of " + std::to_string(grown) + " bytes)");
  s.bytes = grown;
  return s.ptr;
}

std::unique_ptr<Backend> make_cuda_backend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace kvwb::kernels::cuda
