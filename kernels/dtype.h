#pragma once
// Element types of weights and activations as kernels see them. Block-quantized GGUF types
// store `block_elems` values in `block_bytes` bytes; a row's length must be a multiple of
// block_elems.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kvwb::kernels {

enum class DType : uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K };

struct DTypeInfo {
  std::string_view name;
  int32_t block_elems;  // 1 for plain types
  int32_t block_bytes;  // bytes of one block (element size for plain types)
};

constexpr DTypeInfo dtype_info(DType t) {
  switch (t) {
    case DType::F32: return {"f32", 1, 4};
    case DType::F16: return {"f16", 1, 2};
    case DType::BF16: return {"bf16", 1, 2};
    case DType::Q8_0: return {"q8_0", 32, 34};
    case DType::Q4_0: return {"q4_0", 32, 18};
    case DType::Q4_1: return {"q4_1", 32, 20};
    case DType::Q4_K: return {"q4_k", 256, 144};
    case DType::Q6_K: return {"q6_k", 256, 210};
  }
  return {"?", 1, 1};
}

// Bytes of `elems` elements (elems must be a multiple of the block size).
constexpr size_t dtype_bytes(DType t, int64_t elems) {
  const DTypeInfo i = dtype_info(t);
  return static_cast<size_t>(elems / i.block_elems) * static_cast<size_t>(i.block_bytes);
}

}  // namespace kvwb::kernels
