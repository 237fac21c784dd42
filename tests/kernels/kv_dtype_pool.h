#pragma once
// A PagedScenario (paged_scenario.h) with its K and V stored in a KV dtype: every used slot's
// rows rounded with quantize_row, every unused slot poisoned with 0xFF bytes (NaN in every KV
// dtype: a NaN f32 / f16 / bf16 element, a NaN q8_0 / q4_0 block scale). The scenario's f32
// K and V are replaced by the values the rounded rows hold, so its double reference computes
// attention "dequantized first": exactly what a kernel reading the stored rows should give.
#include <cstdint>
#include <vector>

#include "kernels/backend.h"
#include "kernels/kv_dtype.h"
#include "kernels/quant.h"
#include "paged_scenario.h"

namespace kvwb::kernels::test {

struct StoredPool {
  DType dtype = DType::F32;
  std::vector<uint8_t> k, v;  // [slots] rows of kv_row_bytes(dtype, head_dim)

  // The scenario's view with K and V read from these pools.
  PagedKv view(PagedScenario& s) {
    PagedKv kv = s.view();
    kv.dtype = dtype;
    kv.k_pool = k.data();
    kv.v_pool = v.data();
    return kv;
  }
};

inline StoredPool store_pool(PagedScenario& s, DType dtype) {
  StoredPool p;
  p.dtype = dtype;
  const int64_t D = s.head_dim;
  const size_t row = kv_row_bytes(dtype, D);
  p.k.assign(s.used.size() * row, 0xFF);
  p.v.assign(s.used.size() * row, 0xFF);
  for (size_t slot = 0; slot < s.used.size(); ++slot) {
    if (!s.used[slot]) continue;
    float* k = s.k.data() + slot * static_cast<size_t>(D);
    float* v = s.v.data() + slot * static_cast<size_t>(D);
    quantize_row(dtype, k, p.k.data() + slot * row, D);
    quantize_row(dtype, v, p.v.data() + slot * row, D);
    dequantize_row(dtype, p.k.data() + slot * row, k, D);
    dequantize_row(dtype, p.v.data() + slot * row, v, D);
  }
  return p;
}

}  // namespace kvwb::kernels::test
