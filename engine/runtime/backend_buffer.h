#pragma once
// Growable scratch in a backend's memory, freed with its owner: get<T>(n) returns room for n
// elements (contents are not kept when it grows), upload() copies a host vector in.
// (Forward keeps its own older equivalent for its activations.)
#include <algorithm>
#include <cstddef>
#include <vector>

#include "kernels/backend.h"

namespace kvwb {

class BackendBuffer {
 public:
  explicit BackendBuffer(kernels::Backend& backend) : backend_(&backend) {}
  ~BackendBuffer() {
    if (ptr_ != nullptr) backend_->free(ptr_);
  }
  BackendBuffer(const BackendBuffer&) = delete;
  BackendBuffer& operator=(const BackendBuffer&) = delete;

  template <typename T>
  T* get(size_t count) {
    const size_t bytes = std::max<size_t>(count, 1) * sizeof(T);
    if (bytes_ < bytes) {
      if (ptr_ != nullptr) backend_->free(ptr_);
      ptr_ = nullptr;  // stays empty if alloc throws
      bytes_ = 0;
      ptr_ = backend_->alloc(bytes);
      bytes_ = bytes;
    }
    return static_cast<T*>(ptr_);
  }
  template <typename T>
  T* upload(const std::vector<T>& host) {
    T* p = get<T>(host.size());
    if (!host.empty()) backend_->copy_from_host(p, host.data(), host.size() * sizeof(T));
    return p;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  kernels::Backend* backend_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace kvwb
