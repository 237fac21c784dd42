#include "engine/runtime/top_logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvwb {

std::vector<TokenLogprob> top_logprobs(const float* logits, int64_t vocab, int64_t k) {
  if (vocab <= 0 || k <= 0) return {};
  // log_softmax(x)_i = x_i - max - log(sum_j exp(x_j - max)): no exp overflows.
  const double max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_norm = max + std::log(sum);

  std::vector<int32_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), 0);
  const auto n = static_cast<std::ptrdiff_t>(std::min(k, vocab));
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<TokenLogprob> out(static_cast<size_t>(n));
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const int32_t id = ids[static_cast<size_t>(i)];
    out[static_cast<size_t>(i)] = {id, static_cast<float>(static_cast<double>(logits[id]) - log_norm)};
  }
  return out;
}

}  // namespace kvwb
