#pragma once
// The CPU matmul for block-quantized weights and few input rows (see quant_matmul.cpp);
// matmul() in matmul.cpp forwards such calls here and runs the larger ones through sgemm.
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/cpu/quant_dot.h"

namespace kvwb::kernels::cpu {

// Up to this many inputs per weight row the row-at-a-time path is used: dequantizing is the
// expensive part there, and sgemm's packing would cost more than the few dot products.
constexpr int64_t kQuantRowPathMaxN = 8;
// The same for the types dotted straight from the packed bytes (has_fused_dot). Measured with
// bench/prefill_gemm_probe on 30 SmolLM2 layers of Q4_1, 2 threads, per CPU-second: rows
// 44-46 GFLOP/s against the sgemm tiles' 31-42 at n = 9-12, even at 16, tiles ahead from 24.
constexpr int64_t kFusedRowPathMaxN = 16;

// y[n, w.rows] = x[n, w.cols] · wᵀ (+ bias) with w in Q8_0, Q4_0, Q4_1, Q4_K or Q6_K, whole
// blocks per row, w.cols > 0 (matmul checks these).
void quant_matvec(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads);

// The same for --matmul fast (int8_dot.h) with w in Q8_0, Q4_0 or Q4_1, for every n: x quantized
// per block of 32 once, then each chunk of rows dotted with kMaxInt8Inputs inputs per pass.
void quant_matmul_int8(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads);

}  // namespace kvwb::kernels::cpu
