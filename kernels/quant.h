#pragma once
// Block-quantized weight layouts of GGUF (llama.cpp's ggml types) and a reference
// dequantization. All blocks are little-endian and byte-packed (no padding); scales are IEEE
// f16. The reference is plain scalar code: the fast kernels are checked against it.
//
//   Q8_0 (32 values, 34 bytes):  f16 d, int8 q[32]                x[i] = d·q[i]
//   Q4_0 (32 values, 18 bytes):  f16 d, u8 qs[16]                 x[i] = d·(nibble(i) − 8)
//   Q4_1 (32 values, 20 bytes):  f16 d, f16 m, u8 qs[16]          x[i] = d·nibble(i) + m
//     where nibble(i) = qs[i] & 0xF for i < 16 and qs[i − 16] >> 4 for i ≥ 16 (the low nibbles
//     hold the first half of the block, the high nibbles the second).
//   Q4_K (256 values, 144 bytes): f16 d, f16 dmin, u8 scales[12], u8 qs[128]
//     8 sub-blocks of 32 with 6-bit scale sc[j] and min mn[j] packed in `scales`:
//       j < 4: sc = scales[j] & 63, mn = scales[j + 4] & 63
//       j ≥ 4: sc = (scales[j + 4] & 0xF) | (scales[j − 4] >> 6) << 4,
//              mn = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4
//     Sub-blocks 2k and 2k+1 share the 32 bytes qs[32k .. 32k + 32): low nibbles are sub-block
//     2k, high nibbles 2k+1.  x = d·sc·q − dmin·mn.
//   Q6_K (256 values, 210 bytes): u8 ql[128], u8 qh[64], int8 scales[16], f16 d
//     Two halves of 128 values; in half h (ql += 64h, qh += 32h, scales += 8h), for l < 32:
//       value l      : (ql[l] & 0xF)      | ((qh[l] >> 0) & 3) << 4, scale scales[l/16]
//       value l + 32 : (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4, scale scales[l/16 + 2]
//       value l + 64 : (ql[l] >> 4)       | ((qh[l] >> 4) & 3) << 4, scale scales[l/16 + 4]
//       value l + 96 : (ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4, scale scales[l/16 + 6]
//     x = d·scale·(q − 32).
#include <cstdint>

#include "kernels/dtype.h"

namespace kvwb::kernels {

constexpr bool is_quantized(DType t) { return dtype_info(t).block_elems > 1; }

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_0) == dtype_info(DType::Q8_0).block_bytes);
static_assert(sizeof(BlockQ4_K) == dtype_info(DType::Q4_K).block_bytes);
static_assert(sizeof(BlockQ6_K) == dtype_info(DType::Q6_K).block_bytes);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K block from its `scales` bytes.
void q4_k_scale_min(const uint8_t* scales, int j, int& scale, int& min);

// dst[0, n) = the n values stored at src in `dtype` (any dtype, plain ones included). n must
// be a multiple of the block size; src needs no alignment. Throws std::invalid_argument
// otherwise. (Implemented in kernels/cpu/quant.cpp.)
void dequantize_row(DType dtype, const void* src, float* dst, int64_t n);

// dst = the n values of src rounded to `dtype`: F32 (copied), F16, BF16, Q8_0 or Q4_0 (the KV
// cache's types, kernels/kv_dtype.h). n must be a multiple of the block size; dst needs no
// alignment. Throws std::invalid_argument for another dtype or a partial block. Rounding, with
// round() = to nearest, halves away from zero, of the f32 quotient x / d:
//   f16:  nearest even, saturating at ±65504 (a large value never becomes inf); bf16: nearest even
//   q8_0: d = f16(amax / 127) over the block, q = clamp(round(x / d), -127, 127)
//   q4_0: m = the block's value of largest magnitude, sign kept; d = f16(m / -8),
//         q = clamp(round(x / d), -8, 7), stored as the nibble q + 8
//   (a block of zeros gets d = 0 and q = 0).
void quantize_row(DType dtype, const float* src, void* dst, int64_t n);

}  // namespace kvwb::kernels
