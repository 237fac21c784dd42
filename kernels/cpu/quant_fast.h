#pragma once
// Dequantization for the CPU matmul and the KV cache: AVX2 for F16, BF16 and the 32-value
// block types (Q8_0, Q4_0, Q4_1), the reference of kernels/quant.h for the rest. Bit-identical
// to the reference (the same multiply, then add, in f32; no fused multiply-add), which
// tests/kernels/quant_test.cpp checks.
#include <cstdint>

#include "kernels/dtype.h"

namespace kvwb::kernels::cpu {

void dequantize_row_fast(DType dtype, const void* src, float* dst, int64_t n);

}  // namespace kvwb::kernels::cpu
