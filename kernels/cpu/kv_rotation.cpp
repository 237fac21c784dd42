#include "kernels/kv_rotation.h"

#include <cmath>
#include <stdexcept>

namespace kvwb::kernels {

int64_t kv_rotation_block(int64_t head_dim) {
  if (head_dim < 1) throw std::invalid_argument("kv_rotation_block: head_dim must be positive");
  return head_dim & -head_dim;  // the lowest set bit: the largest power of two dividing head_dim
}

float kv_rotation_sign(int64_t channel) {
  // splitmix64 of the channel index: fixed, and without a pattern that a row could share.
  uint64_t z = static_cast<uint64_t>(channel) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (z & 1) ? -1.0f : 1.0f;
}

std::vector<float> kv_rotation_matrix(int64_t head_dim) {
  const int64_t p = kv_rotation_block(head_dim);
  const float norm = 1.0f / std::sqrt(static_cast<float>(p));
  std::vector<float> r(static_cast<size_t>(head_dim * head_dim), 0.0f);
  for (int64_t base = 0; base < head_dim; base += p) {
    for (int64_t i = 0; i < p; ++i) {
      for (int64_t j = 0; j < p; ++j) {
        // Sylvester's Hadamard matrix: H[i][j] = (-1)^popcount(i & j).
        const float h = (__builtin_popcountll(static_cast<uint64_t>(i & j)) & 1) ? -norm : norm;
        r[static_cast<size_t>((base + i) * head_dim + base + j)] = h * kv_rotation_sign(base + j);
      }
    }
  }
  return r;
}

}  // namespace kvwb::kernels
