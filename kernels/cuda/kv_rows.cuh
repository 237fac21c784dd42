#pragma once
// Device reads of one element of a KV row stored in a KV dtype (kernels/kv_dtype.h), giving
// exactly what kernels::dequantize_row gives on the CPU: f16 and bf16 widen exactly; q8_0 is
// d·q and q4_0 d·(nibble − 8), one f32 multiply of the block's f16 scale.
//
//   row: the row's bytes (kv_row_bytes(dtype, head_dim)); c: element index < head_dim.
//   Rows start at 2-byte boundaries (every KV row size is even), so 16-bit reads are aligned.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/dtype.h"

namespace kvwb::kernels::cuda {

__device__ inline float half_bits_to_float(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
__device__ inline float bf16_bits_to_float(uint16_t bits) { return __uint_as_float(static_cast<uint32_t>(bits) << 16); }

__device__ inline float kv_element(const uint8_t* __restrict__ row, int c, DType dtype) {
  switch (dtype) {
    case DType::F16: return half_bits_to_float(reinterpret_cast<const uint16_t*>(row)[c]);
    case DType::BF16: return bf16_bits_to_float(reinterpret_cast<const uint16_t*>(row)[c]);
    case DType::Q8_0: {
      const uint8_t* block = row + (c >> 5) * 34;  // f16 d, int8 q[32]
      const float d = half_bits_to_float(*reinterpret_cast<const uint16_t*>(block));
      return d * static_cast<float>(reinterpret_cast<const int8_t*>(block + 2)[c & 31]);
    }
    case DType::Q4_0: {
      const uint8_t* block = row + (c >> 5) * 18;  // f16 d, u8 qs[16]: low nibbles first half
      const float d = half_bits_to_float(*reinterpret_cast<const uint16_t*>(block));
      const int i = c & 31;
      const uint8_t byte = block[2 + (i & 15)];
      return d * static_cast<float>((i < 16 ? byte & 0xF : byte >> 4) - 8);
    }
    default: return reinterpret_cast<const float*>(row)[c];  // F32 (the only other KV dtype)
  }
}

}  // namespace kvwb::kernels::cuda
