#pragma once
// The fixed orthogonal rotation of K and V rows before they are rounded to a block-quantized KV
// dtype (RunConfig kv_rotation = hadamard; docs/benchmarks.md, "KV cache precision"). q8_0 and
// q4_0 share one scale per 32 values of a row, so one large channel (keys have a few) sets the
// step for its whole block; rotating the row first spreads that channel over every value, and
// the same rotation of the query keeps q·k, and its inverse on the attention output keeps p·V,
// unchanged:
//   k' = R k, q' = R q  =>  q'·k' = q·k;   v' = R v  =>  Σ p v' = R Σ p v.
// R is block-diagonal with blocks of p = the largest power of two dividing head_dim (64 for
// head_dim 64, 32 for 96: every head_dim a block-quantized dtype accepts is a multiple of 32);
// each block is H_p / sqrt(p) · diag(s): the normalized Walsh-Hadamard matrix after a fixed sign
// per channel (the signs keep a row whose channels are all alike from mapping onto one output).
// The matrix is fixed, so what a cache stores means the same in every run. (Implemented in
// kernels/cpu/kv_rotation.cpp.)
#include <cstdint>
#include <vector>

namespace kvwb::kernels {

// p: the width of R's Walsh-Hadamard blocks for head_dim (its largest power-of-two divisor).
int64_t kv_rotation_block(int64_t head_dim);

// The sign (+1 or -1) applied to channel c before its block's Walsh-Hadamard transform.
float kv_rotation_sign(int64_t channel);

// R, [head_dim, head_dim] row-major (R[i * head_dim + j]). Orthogonal: R·Rᵀ = I.
std::vector<float> kv_rotation_matrix(int64_t head_dim);

}  // namespace kvwb::kernels
