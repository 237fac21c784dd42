#pragma once
// What a backend's alloc throws when the memory runs out: a std::bad_alloc (the one type every
// caller that survives running out of memory catches) carrying the backend's own reason
// ("mmap: Cannot allocate memory", "alloc: cudaMalloc of 2147483648 bytes (81559 MiB on the
// device): CUDA error cudaErrorMemoryAllocation (out of memory)"), which BackendBuffer puts into
// its one-line error. Host code, for every backend.
#include <new>
#include <string>
#include <utility>

namespace kvwb::kernels {

class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string reason) : reason_(std::move(reason)) {}
  const char* what() const noexcept override { return reason_.c_str(); }

 private:
  std::string reason_;
};

}  // namespace kvwb::kernels
