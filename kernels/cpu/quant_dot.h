#pragma once
// Dot products of one block-quantized weight row (Q8_0, Q4_0, Q4_1: 32-value blocks) with up
// to kMaxDotInputs f32 vectors, straight from the packed bytes: the decode path of the CPU
// matmul, which would otherwise write the dequantized row out and read it back. Activations
// stay f32 (no 8-bit activation quantization), so results equal a dot product with the
// reference dequantization up to f32 summation order.
//
// Per block b with scale d and min m (kernels/quant.h):
//   Q8_0: d·Σ q·x     Q4_0: d·Σ (q − 8)·x     Q4_1: d·Σ q·x + m·s_b
// where q are the stored integers and s_b = Σ x over the block (block_sums(), computed once
// per input vector rather than once per row).
#include <cstdint>

#include "kernels/dtype.h"

namespace kvwb::kernels::cpu {

constexpr int kMaxDotInputs = 4;

// True for the dtypes quant_dot_rows handles.
constexpr bool has_fused_dot(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1; }

// Whether the dtype's formula needs the per-block sums of x.
constexpr bool needs_block_sums(DType t) { return t == DType::Q4_1; }

// sums[b] = Σ x[32b .. 32b + 32) for b < cols / 32.
void block_sums(const float* x, int64_t cols, float* sums);

// Consecutive weight rows (dtype_bytes(dtype, cols) apart) and the inputs they are dotted with.
struct QuantDotArgs {
  DType dtype = DType::Q4_1;
  const void* rows = nullptr;
  int64_t row_count = 0;
  int64_t cols = 0;             // a multiple of 32
  const float* x = nullptr;     // input j at x + j·x_stride, j < count
  int64_t x_stride = 0;
  int count = 1;                // 1..kMaxDotInputs
  const float* sums = nullptr;  // Q4_1: block_sums of input j at sums + j·sums_stride
  int64_t sums_stride = 0;
  float* y = nullptr;           // y[j·y_stride + r] = row r · input j
  int64_t y_stride = 0;
};

// AVX2 where the build has it, otherwise quant_dot_rows_portable. Throws std::invalid_argument
// for a dtype without a fused dot, a partial block or a bad input count.
void quant_dot_rows(const QuantDotArgs& a);

// The same in plain scalar code (the fallback; tests compare both with the reference).
void quant_dot_rows_portable(const QuantDotArgs& a);

}  // namespace kvwb::kernels::cpu
