#pragma once
// A weight matrix or vector uploaded to a backend and owned: freed with this object. The CPU
// backend uses host bytes as they are (nothing to free); CUDA copies them to the device. A
// failed upload throws before anything is owned, so nothing leaks and nothing is freed twice.
#include <string_view>
#include <utility>

#include "engine/core/error.h"
#include "kernels/backend.h"

namespace kvwb {

class BackendMatrix {
 public:
  BackendMatrix() = default;
  // `what` names the weight in the error a failed upload throws.
  BackendMatrix(kernels::Backend& backend, const kernels::Matrix& host, std::string_view what) : backend_(&backend) {
    try {
      matrix_ = backend.upload(host);
    } catch (const std::exception& e) {
      fail(what, "cannot upload {}x{} weights to the {} backend ({})", host.rows, host.cols, backend.name(), e.what());
    }
    owned_ = matrix_.data != host.data;
  }
  ~BackendMatrix() { release(); }
  BackendMatrix(BackendMatrix&& other) noexcept { *this = std::move(other); }
  BackendMatrix& operator=(BackendMatrix&& other) noexcept {
    if (this != &other) {
      release();
      backend_ = std::exchange(other.backend_, nullptr);
      matrix_ = std::exchange(other.matrix_, {});
      owned_ = std::exchange(other.owned_, false);
    }
    return *this;
  }
  BackendMatrix(const BackendMatrix&) = delete;
  BackendMatrix& operator=(const BackendMatrix&) = delete;

  const kernels::Matrix& get() const { return matrix_; }

 private:
  void release() noexcept {
    if (owned_) backend_->free(const_cast<void*>(matrix_.data));
    owned_ = false;
  }

  kernels::Backend* backend_ = nullptr;
  kernels::Matrix matrix_;
  bool owned_ = false;
};

}  // namespace kvwb
