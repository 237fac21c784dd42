#pragma once
// The CPU matmul for block-quantized weights (see quant_matmul.cpp); matmul() in matmul.cpp
// forwards quantized matrices here.
#include <cstdint>

#include "kernels/backend.h"

namespace kvwb::kernels::cpu {

// y[n, w.rows] = x[n, w.cols] · wᵀ (+ bias) with w in Q8_0, Q4_0, Q4_1, Q4_K or Q6_K.
void quant_matmul(const float* x, int64_t n, const Matrix& w, const float* bias, float* y, int threads);

}  // namespace kvwb::kernels::cpu
