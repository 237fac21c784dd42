#pragma once
// Dequantization (and widening) for the CPU matmul and the KV cache: AVX2 for F16, BF16 and
// every block type (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K) on the AVX passes, the reference of
// kernels/quant.h on the portable one. Bit-identical to the reference (the same products,
// rounded in the same order; no fused multiply-add), which tests/kernels/quant_test.cpp and
// cpu_isa_test.cpp check.
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/dtype.h"

namespace kvwb::kernels::cpu {

void dequantize_row_fast(DType dtype, const void* src, float* dst, int64_t n);

// dst[count, cols] = rows [r0, r0 + count) of w (f32, f16, bf16 or a block type) as f32.
void matrix_rows_to_f32(const Matrix& w, int64_t r0, int64_t count, float* dst);

}  // namespace kvwb::kernels::cpu
