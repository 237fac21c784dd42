#pragma once
// Growable scratch in a backend's memory, freed with its owner: get<T>(n) returns room for n
// elements (contents are not kept when it grows, by half again at least so that regrowth is
// amortised), upload() copies a host vector in. The one owner of backend memory outside the
// backends (Forward's activations and tables, KvCache's pools, the slot selector's scratch).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "engine/core/error.h"
#include "kernels/backend.h"

namespace kvwb {

class BackendBuffer {
 public:
  // `what` names the buffer in the error a failed allocation throws ("KV pool: cannot
  // allocate ...").
  explicit BackendBuffer(kernels::Backend& backend, const char* what = "backend scratch")
      : backend_(&backend), what_(what) {}
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
      ptr_ = nullptr;  // stays empty if alloc throws: never freed twice
      const size_t grown = std::max(bytes, bytes_ + bytes_ / 2);
      bytes_ = 0;
      try {
        ptr_ = backend_->alloc(grown);
      } catch (const std::exception& e) {
        fail(what_, "cannot allocate {} bytes on the {} backend ({})", grown, backend_->name(), e.what());
      }
      bytes_ = grown;
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
  size_t bytes() const { return bytes_; }

 private:
  kernels::Backend* backend_;
  const char* what_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace kvwb
