#pragma once
// Shared by the CUDA tests: the skip guard (every GPU test skips, saying why, where no usable
// device exists), one CUDA backend per test binary, and RAII device buffers filled from and
// read back into host vectors. The CPU backend is the reference every op is compared with.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/backend_factory.h"

#define KVWB_REQUIRE_CUDA()                                                         \
  do {                                                                              \
    std::string kvwb_why_;                                                          \
    if (!::kvwb::kernels::cuda_available(&kvwb_why_)) {                             \
      GTEST_SKIP() << "no CUDA device: " << kvwb_why_;                              \
    }                                                                               \
  } while (0)

namespace kvwb::kernels::test {

// Created on first use (cuBLASLt and the context take a moment) and kept for the binary.
inline Backend& cuda_backend() {
  static std::unique_ptr<Backend> backend = make_backend("cuda", 0);
  return *backend;
}

inline Backend& cpu_backend() {
  static std::unique_ptr<Backend> backend = make_cpu_backend(2);
  return *backend;
}

// A device allocation of the CUDA backend that frees itself.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes), ptr_(cuda_backend().alloc(bytes)) {}
  template <typename T>
  static DeviceBuffer from(const std::vector<T>& host) {
    DeviceBuffer b(host.size() * sizeof(T));
    if (!host.empty()) cuda_backend().copy_from_host(b.ptr_, host.data(), host.size() * sizeof(T));
    return b;
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : bytes_(o.bytes_), ptr_(o.ptr_) { o.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(bytes_, o.bytes_);
    std::swap(ptr_, o.ptr_);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cuda_backend().free(ptr_);
  }

  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  template <typename T>
  std::vector<T> to_host() const {
    std::vector<T> out(bytes_ / sizeof(T));
    cuda_backend().copy_to_host(out.data(), ptr_, out.size() * sizeof(T));
    return out;
  }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_ = 0;
  void* ptr_ = nullptr;
};

// Bit-level equality that treats two NaNs as equal (poisoned slots must stay poisoned).
inline bool same_or_both_nan(float a, float b) { return (a != a && b != b) || a == b; }

}  // namespace kvwb::kernels::test
