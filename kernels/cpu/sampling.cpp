// Token sampling: greedy, or temperature + nucleus (top-p) with inverse-CDF selection in
// descending-probability order, so the caller's uniform number alone fixes the result.
// Probabilities are computed in double; only as much of the vocabulary is sorted as the
// nucleus and the draw need (the top few hundred tokens, usually), not all of it.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace kvwb::kernels::cpu {
namespace {

int32_t argmax(const float* logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i) {
    if (logits[i] > logits[best]) best = i;  // strict: the lowest index wins ties
  }
  return static_cast<int32_t>(best);
}

// Token ids ordered by descending probability (lowest id first among equals), sorted lazily:
// prefix(k) guarantees the first k are in final order.
class DescendingOrder {
 public:
  explicit DescendingOrder(const std::vector<double>& p) : p_(p), ids_(p.size()) {
    std::iota(ids_.begin(), ids_.end(), 0);
  }
  int32_t at(size_t i) {
    if (i >= sorted_) prefix(std::max(i + 1, std::min(ids_.size(), std::max<size_t>(64, sorted_ * 4))));
    return ids_[i];
  }
  size_t size() const { return ids_.size(); }

 private:
  void prefix(size_t k) {
    // Only the unsorted tail moves: select the next k - sorted_ ids from it, then sort those.
    // A strict total order makes the result unique, so it does not depend on the steps taken.
    const auto before = [this](int32_t a, int32_t b) {
      const double pa = p_[static_cast<size_t>(a)], pb = p_[static_cast<size_t>(b)];
      return pa > pb || (pa == pb && a < b);
    };
    const auto first = ids_.begin() + static_cast<std::ptrdiff_t>(sorted_);
    const auto last = ids_.begin() + static_cast<std::ptrdiff_t>(k);
    if (last != ids_.end()) std::nth_element(first, last, ids_.end(), before);
    std::sort(first, last, before);
    sorted_ = k;
  }
  const std::vector<double>& p_;
  std::vector<int32_t> ids_;
  size_t sorted_ = 0;
};

}  // namespace

int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) {
  if (vocab <= 0) op_error("sample", "vocabulary size must be positive, got " + std::to_string(vocab));
  if (!(params.temperature > 0.0f)) return argmax(logits, vocab);

  const double top = logits[argmax(logits, vocab)];
  const double inv_t = 1.0 / static_cast<double>(params.temperature);
  std::vector<double> p(static_cast<size_t>(vocab));
  double z = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = std::exp((static_cast<double>(logits[i]) - top) * inv_t);
    z += p[i];
  }
  for (double& v : p) v /= z;

  DescendingOrder order(p);
  // The nucleus: the smallest prefix whose mass reaches top_p (top_p >= 1 keeps everything).
  size_t kept = order.size();
  double kept_mass = 1.0;
  if (params.top_p < 1.0f) {
    double cum = 0.0;
    for (size_t i = 0; i < order.size(); ++i) {
      cum += p[static_cast<size_t>(order.at(i))];
      if (cum >= static_cast<double>(params.top_p)) {
        kept = i + 1;
        kept_mass = cum;
        break;
      }
    }
  }
  // Inverse CDF over the renormalised nucleus.
  const double target = std::clamp(static_cast<double>(uniform), 0.0, 1.0) * kept_mass;
  double cum = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    cum += p[static_cast<size_t>(order.at(i))];
    if (cum > target) return order.at(i);
  }
  return order.at(kept - 1);  // rounding left the target just above the last sum
}

}  // namespace kvwb::kernels::cpu
