// Rotary position embedding, in place on x[n, heads, head_dim]. The angle pos·inv_freq[j] is
// formed and its cos/sin taken in double: at positions in the tens of thousands an f32 product
// is already off by ~1e-3 rad, while double keeps every position accurate to ~1e-7. The table
// of one token is computed once and applied to all its heads.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace kvwb::kernels::cpu {

void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const int32_t* pos, const float* inv_freq,
          RopeStyle style, int threads) {
  if (head_dim <= 0 || head_dim % 2 != 0) {
    op_error("rope", "head_dim must be positive and even, got " + std::to_string(head_dim));
  }
  const int64_t half = head_dim / 2;
  // Pairs (a, b) that rotate together: Half pairs j with j + d/2, Pair pairs 2j with 2j + 1.
  const int64_t a_step = style == RopeStyle::Half ? 1 : 2;
  const int64_t b_offset = style == RopeStyle::Half ? half : 1;
#pragma omp parallel num_threads(threads) if (n * heads * head_dim >= (int64_t{1} << 14))
  {
    std::vector<float> cos_t(static_cast<size_t>(half)), sin_t(static_cast<size_t>(half));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t j = 0; j < half; ++j) {
        const double angle = static_cast<double>(pos[t]) * static_cast<double>(inv_freq[j]);
        cos_t[static_cast<size_t>(j)] = static_cast<float>(std::cos(angle));
        sin_t[static_cast<size_t>(j)] = static_cast<float>(std::sin(angle));
      }
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + (t * heads + h) * head_dim;
        for (int64_t j = 0; j < half; ++j) {
          float& a = v[j * a_step];
          float& b = v[j * a_step + b_offset];
          const float c = cos_t[static_cast<size_t>(j)], s = sin_t[static_cast<size_t>(j)];
          const float a0 = a, b0 = b;
          a = a0 * c - b0 * s;
          b = b0 * c + a0 * s;
        }
      }
    }
  }
}

}  // namespace kvwb::kernels::cpu
