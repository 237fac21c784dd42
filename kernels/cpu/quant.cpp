// The reference dequantization of kernels/quant.h: one block at a time, copied out of the
// source first so that unaligned blocks (GGUF only aligns whole tensors) are read safely.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/half.h"
#if defined(__F16C__)
#include <immintrin.h>
#endif
#include "kernels/quant.h"

namespace kvwb::kernels {
namespace {

// Block scales are f16: the F16C instruction converts exactly as f16_to_f32 does, without
// its branches (which otherwise cost as much as the 32 values of a block).
inline float scale_f32(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return f16_to_f32(h);
#endif
}

template <typename Block>
Block load_block(const uint8_t* src, int64_t index) {
  Block b;
  std::memcpy(&b, src + static_cast<size_t>(index) * sizeof(Block), sizeof(Block));
  return b;
}

void dequantize_q8_0(const BlockQ8_0& b, float* y) {
  const float d = scale_f32(b.d);
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(b.qs[i]);
}

void dequantize_q4_0(const BlockQ4_0& b, float* y) {
  const float d = scale_f32(b.d);
  for (int i = 0; i < 16; ++i) {
    y[i] = d * static_cast<float>((b.qs[i] & 0xF) - 8);
    y[i + 16] = d * static_cast<float>((b.qs[i] >> 4) - 8);
  }
}

void dequantize_q4_1(const BlockQ4_1& b, float* y) {
  const float d = scale_f32(b.d), m = scale_f32(b.m);
  for (int i = 0; i < 16; ++i) {
    y[i] = d * static_cast<float>(b.qs[i] & 0xF) + m;
    y[i + 16] = d * static_cast<float>(b.qs[i] >> 4) + m;
  }
}

void dequantize_q4_k(const BlockQ4_K& b, float* y) {
  const float d = scale_f32(b.d), dmin = scale_f32(b.dmin);
  for (int pair = 0; pair < 4; ++pair) {
    int sc_lo, mn_lo, sc_hi, mn_hi;
    q4_k_scale_min(b.scales, 2 * pair, sc_lo, mn_lo);
    q4_k_scale_min(b.scales, 2 * pair + 1, sc_hi, mn_hi);
    const uint8_t* q = b.qs + 32 * pair;
    float* out = y + 64 * pair;
    for (int l = 0; l < 32; ++l) {
      out[l] = d * static_cast<float>(sc_lo) * static_cast<float>(q[l] & 0xF) - dmin * static_cast<float>(mn_lo);
      out[l + 32] = d * static_cast<float>(sc_hi) * static_cast<float>(q[l] >> 4) - dmin * static_cast<float>(mn_hi);
    }
  }
}

void dequantize_q6_k(const BlockQ6_K& b, float* y) {
  const float d = scale_f32(b.d);
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    const int8_t* sc = b.scales + 8 * half;
    float* out = y + 128 * half;
    for (int l = 0; l < 32; ++l) {
      const int s = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      out[l] = d * static_cast<float>(sc[s]) * static_cast<float>(q1);
      out[l + 32] = d * static_cast<float>(sc[s + 2]) * static_cast<float>(q2);
      out[l + 64] = d * static_cast<float>(sc[s + 4]) * static_cast<float>(q3);
      out[l + 96] = d * static_cast<float>(sc[s + 6]) * static_cast<float>(q4);
    }
  }
}

template <typename Block, void (*Dequantize)(const Block&, float*)>
void dequantize_blocks(const uint8_t* src, float* dst, int64_t blocks, int64_t block_elems) {
  for (int64_t i = 0; i < blocks; ++i) Dequantize(load_block<Block>(src, i), dst + i * block_elems);
}

// round(x / d) of quant.h: the f32 quotient rounded to nearest, halves away from zero, then
// clamped to [lo, hi].
inline int round_clamped(float x, float d, int lo, int hi) {
  const float r = std::round(x / d);
  return r < static_cast<float>(lo) ? lo : (r > static_cast<float>(hi) ? hi : static_cast<int>(r));
}

BlockQ8_0 quantize_q8_0(const float* x) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  BlockQ8_0 b{};
  b.d = f32_to_f16_saturate(amax / 127.0f);
  const float d = f16_to_f32(b.d);
  for (int i = 0; i < 32; ++i) b.qs[i] = static_cast<int8_t>(d == 0.0f ? 0 : round_clamped(x[i], d, -127, 127));
  return b;
}

BlockQ4_0 quantize_q4_0(const float* x) {
  float m = 0.0f;
  for (int i = 0; i < 32; ++i) {
    if (std::fabs(x[i]) > std::fabs(m)) m = x[i];
  }
  BlockQ4_0 b{};
  b.d = f32_to_f16_saturate(m / -8.0f);
  const float d = f16_to_f32(b.d);
  for (int i = 0; i < 16; ++i) {
    const int lo = d == 0.0f ? 0 : round_clamped(x[i], d, -8, 7);
    const int hi = d == 0.0f ? 0 : round_clamped(x[i + 16], d, -8, 7);
    b.qs[i] = static_cast<uint8_t>((lo + 8) | ((hi + 8) << 4));
  }
  return b;
}

template <typename Block, Block (*Quantize)(const float*)>
void quantize_blocks(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i) {
    const Block b = Quantize(src + i * 32);
    std::memcpy(dst + static_cast<size_t>(i) * sizeof(Block), &b, sizeof(Block));
  }
}

// Throws unless n is a whole number of dtype's blocks.
void check_whole_blocks(const char* op, DType dtype, int64_t n) {
  const DTypeInfo info = dtype_info(dtype);
  if (n < 0 || n % info.block_elems != 0) {
    throw std::invalid_argument(std::string(op) + ": " + std::to_string(n) + " values are not whole " +
                                std::string(info.name) + " blocks of " + std::to_string(info.block_elems));
  }
}

}  // namespace

void q4_k_scale_min(const uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void quantize_row(DType dtype, const float* src, void* dst, int64_t n) {
  check_whole_blocks("quantize_row", dtype, n);
  auto* d = static_cast<uint8_t*>(dst);
  switch (dtype) {
    case DType::F32:
      std::memcpy(d, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::F16 ? f32_to_f16_saturate(src[i]) : f32_to_bf16(src[i]);
        std::memcpy(d + 2 * i, &h, 2);
      }
      return;
    case DType::Q8_0: return quantize_blocks<BlockQ8_0, quantize_q8_0>(src, d, n / 32);
    case DType::Q4_0: return quantize_blocks<BlockQ4_0, quantize_q4_0>(src, d, n / 32);
    default: break;
  }
  throw std::invalid_argument("quantize_row: cannot round to " + std::string(dtype_info(dtype).name) +
                              " (f32, f16, bf16, q8_0 or q4_0 only)");
}

void dequantize_row(DType dtype, const void* src, float* dst, int64_t n) {
  check_whole_blocks("dequantize_row", dtype, n);
  const DTypeInfo info = dtype_info(dtype);
  const auto* s = static_cast<const uint8_t*>(src);
  const int64_t blocks = n / info.block_elems;
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, s, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16:
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        dst[i] = dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    case DType::Q8_0: return dequantize_blocks<BlockQ8_0, dequantize_q8_0>(s, dst, blocks, 32);
    case DType::Q4_0: return dequantize_blocks<BlockQ4_0, dequantize_q4_0>(s, dst, blocks, 32);
    case DType::Q4_1: return dequantize_blocks<BlockQ4_1, dequantize_q4_1>(s, dst, blocks, 32);
    case DType::Q4_K: return dequantize_blocks<BlockQ4_K, dequantize_q4_k>(s, dst, blocks, 256);
    case DType::Q6_K: return dequantize_blocks<BlockQ6_K, dequantize_q6_k>(s, dst, blocks, 256);
  }
  throw std::invalid_argument("dequantize_row: unknown dtype");
}

}  // namespace kvwb::kernels
