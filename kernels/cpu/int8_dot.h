#pragma once
// The integer dot products of `--matmul fast` (MatmulMode::fast, kernels/backend.h): activations
// quantized per block of 32 values to int8 with one f32 scale, as GGUF's q8_0 / q8_1 activations
// are, dotted with Q8_0, Q4_0 or Q4_1 weight rows in integer arithmetic. One block b of a weight
// row (scale dw, min mw, stored integers qw; kernels/quant.h) and of an input (scale dx,
// integers qx, s = dx·Σqx) gives
//   Q8_0: dw·dx·Σ qw·qx     Q4_0: dw·dx·Σ (qw − 8)·qx     Q4_1: dw·dx·Σ qw·qx + mw·s
// where each Σ is exact in 32-bit integers (|Σ| <= 32·128·127). AVX-512 VNNI (vpdpbusd) on the
// avx512 pass, maddubs + madd on avx2, scalar code on portable; each picks its pass at run time
// (isa.h). Unlike exact mode this changes results: an input value moves by up to dx/2.
#include <cstdint>
#include <vector>

#include "kernels/dtype.h"

namespace kvwb::kernels::cpu {

// The weight types with an integer dot; matmul keeps the exact path for every other type.
constexpr bool has_int8_dot(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_1; }

constexpr int kMaxInt8Inputs = 4;

// --matmul fast takes the integer dots for at most this many input rows (decode and small
// batches, where they beat the exact row path per CPU-second); above it the exact path's sgemm
// on converted tiles is the faster one, and fast mode keeps it (docs/benchmarks.md, run G).
constexpr int64_t kInt8MatmulMaxN = 64;

// Inputs [n, cols] (cols a multiple of 32) quantized per block: for block b of row i,
// d = amax/127, q = round(x/d) in [-127, 127] (all zero when amax = 0), s = d·Σq.
// |x − q·d| <= d·(1/2 + 256·u) (u = 2^-24: the rounded reciprocal and product before rounding
// to an integer). The same scalar code on every pass, so every pass sees the same integers.
struct Int8Rows {
  int64_t n = 0, cols = 0;
  std::vector<int8_t> q;  // [n, cols]
  std::vector<float> d;   // [n, cols / 32]
  // [cols / 32, n] and kMaxInt8Inputs more: block-major, so that the sums of one block of
  // consecutive inputs load as one vector (the padding is zero).
  std::vector<float> s;
  float sum_at(int64_t i, int64_t b) const { return s[static_cast<size_t>(b * n + i)]; }
};
Int8Rows quantize_rows_int8(const float* x, int64_t n, int64_t cols);

// Consecutive weight rows (dtype_bytes(dtype, cols) apart) dotted with `count` quantized inputs.
struct Int8DotArgs {
  DType dtype = DType::Q4_1;
  const void* rows = nullptr;
  int64_t row_count = 0;
  const Int8Rows* x = nullptr;  // its rows first .. first + count, cols = the weights' cols
  int64_t first = 0;
  int count = 1;                // 1..kMaxInt8Inputs
  float* y = nullptr;           // y[j·y_stride + r] = row r · input first + j
  int64_t y_stride = 0;
};

// The active pass's kernel. Throws std::invalid_argument for a type without an integer dot, a
// partial block or a bad input count.
void int8_dot_rows(const Int8DotArgs& a);

}  // namespace kvwb::kernels::cpu
