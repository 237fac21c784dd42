// Rotary position embedding, in place. The angle pos · inv_freq[j] and its cosine and sine are
// computed in double, as on the CPU: in f32 the angle is already off by ~1e-3 rad at positions
// in the tens of thousands.
//
//   x: [n, heads, head_dim] f32     pos: [n] int32     inv_freq: [head_dim / 2] f32
//   Half (HF/NEOX): rotates (x[j], x[j + d/2]);  Pair (GGUF): rotates (x[2j], x[2j + 1]).
//
// One thread per (token, j): it computes the rotation once and applies it to every head.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace kvwb::kernels::cuda {
namespace {

constexpr int kThreads = 128;

__global__ void __launch_bounds__(kThreads)
    rope_kernel(float* __restrict__ x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* __restrict__ pos,
                const float* __restrict__ inv_freq, int64_t a_step, int64_t b_offset) {
  const int64_t half = head_dim / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (idx >= n * half) return;
  const int64_t t = idx / half, j = idx - t * half;
  double s, c;
  sincos(static_cast<double>(pos[t]) * static_cast<double>(inv_freq[j]), &s, &c);
  const float cf = static_cast<float>(c), sf = static_cast<float>(s);
  for (int64_t h = 0; h < heads; ++h) {
    float* v = x + (t * heads + h) * head_dim;
    float& a = v[j * a_step];
    float& b = v[j * a_step + b_offset];
    const float a0 = a, b0 = b;
    a = a0 * cf - b0 * sf;
    b = b0 * cf + a0 * sf;
  }
}

}  // namespace

void launch_rope(const OpContext& ctx, float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos,
                 const float* inv_freq, RopeStyle style) {
  const int64_t half = head_dim / 2;
  if (n <= 0 || heads <= 0 || half <= 0) return;
  const int64_t a_step = style == RopeStyle::Half ? 1 : 2;
  const int64_t b_offset = style == RopeStyle::Half ? half : 1;
  const int64_t blocks = ceil_div(n * half, kThreads);
  rope_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(x, n, heads, head_dim, pos, inv_freq,
                                                                          a_step, b_offset);
  check_launch("rope");
}

}  // namespace kvwb::kernels::cuda
