#include "kernels/cpu/weights_cache.h"

#include <algorithm>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_fast.h"

namespace kvwb::kernels::cpu {

bool worth_caching(DType dtype) { return dtype != DType::F32 && active_isa() == Isa::Portable; }

void WeightsCache::add(const Matrix& w) {
  if (w.data == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(w.data);
  if (it != entries_.end()) {  // new weights where old ones were: the old copy is stale
    if (it->second.values != nullptr) used_ -= static_cast<size_t>(it->second.w.rows * it->second.w.cols) * sizeof(float);
    entries_.erase(it);
  }
  if (worth_caching(w.dtype) && budget_ > 0) entries_.emplace(w.data, Entry{w, nullptr, false});
}

const float* WeightsCache::f32(const Matrix& w, int threads) {
  if (w.data == nullptr || !worth_caching(w.dtype)) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(w.data);
  if (it == entries_.end()) return nullptr;
  Entry& e = it->second;
  // The same bytes seen as another shape or type are not the registered weight.
  if (e.w.dtype != w.dtype || e.w.rows != w.rows || e.w.cols != w.cols) return nullptr;
  if (e.values != nullptr) return e.values.get();
  if (e.refused) return nullptr;
  const size_t bytes = static_cast<size_t>(w.rows * w.cols) * sizeof(float);
  if (bytes > budget_ - used_) {
    e.refused = true;
    return nullptr;
  }
  e.values.reset(new float[static_cast<size_t>(w.rows * w.cols)]);
  float* dst = e.values.get();
  const int64_t chunk = 64;
#pragma omp parallel for num_threads(std::max(threads, 1)) schedule(dynamic)
  for (int64_t r0 = 0; r0 < w.rows; r0 += chunk) {
    matrix_rows_to_f32(w, r0, std::min(chunk, w.rows - r0), dst + r0 * w.cols);
  }
  used_ += bytes;
  return dst;
}

size_t WeightsCache::used_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_;
}

}  // namespace kvwb::kernels::cpu
