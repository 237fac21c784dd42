#pragma once
// The element types the paged KV pool can store (RunConfig `kv_dtype`, `--kv-dtype`): the one
// list that config validation, the CLI, the GUI and sweeps derive their choices from.
//
// A slot's K (and V) row is head_dim values in the dtype: f32, f16 or bf16 one by one; q8_0 and
// q4_0 as GGUF blocks of 32 values along head_dim with one f16 scale (kernels/quant.h), so
// head_dim must be a multiple of 32 for them. Every slot is rounded on its own when written
// (quantize_row in kernels/quant.h), so eviction and compaction move slots as whole rows.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/dtype.h"

namespace kvwb::kernels {

// In order of decreasing bytes per value.
inline constexpr std::array<DType, 5> kKvDTypes = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};

constexpr bool is_kv_dtype(DType t) {
  for (DType k : kKvDTypes) {
    if (k == t) return true;
  }
  return false;
}

constexpr std::string_view kv_dtype_name(DType t) { return dtype_info(t).name; }

// The KV dtype called `name` ("f32", "f16", "bf16", "q8_0", "q4_0"), or nullopt.
constexpr std::optional<DType> kv_dtype_from_name(std::string_view name) {
  for (DType k : kKvDTypes) {
    if (dtype_info(k).name == name) return k;
  }
  return std::nullopt;
}

// "f32, f16, bf16, q8_0, q4_0": for help texts and error messages.
inline std::string kv_dtype_names() {
  std::string out;
  for (DType k : kKvDTypes) {
    if (!out.empty()) out += ", ";
    out += dtype_info(k).name;
  }
  return out;
}

// Bytes of one slot's K (or V) row. head_dim must suit the dtype (kv_dtype_problem).
constexpr size_t kv_row_bytes(DType t, int64_t head_dim) { return dtype_bytes(t, head_dim); }

// Why the pool cannot store `t` at this head_dim ("" when it can): not a KV dtype, or a
// block-quantized dtype whose blocks do not tile head_dim.
inline std::string kv_dtype_problem(DType t, int64_t head_dim) {
  if (!is_kv_dtype(t)) {
    return std::string(dtype_info(t).name) + " is not a KV cache dtype (one of " + kv_dtype_names() + ")";
  }
  const int32_t block = dtype_info(t).block_elems;
  if (head_dim % block != 0) {
    return std::string(dtype_info(t).name) + " stores blocks of " + std::to_string(block) +
           " values along head_dim, which must be a multiple of " + std::to_string(block) + "; it is " +
           std::to_string(head_dim);
  }
  return {};
}

}  // namespace kvwb::kernels
