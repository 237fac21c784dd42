// Token sampling: greedy, or temperature + nucleus (top-p) with inverse-CDF selection in
// descending-probability order, so the caller's uniform number alone fixes the result.
// Probabilities are computed in double; only as much of the vocabulary is sorted as the
// nucleus and the draw need (the top few hundred tokens, usually), not all of it.
#include <algorithm>
#include <cmath>
#include <utility>
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

struct Candidate {
  double p;
  int32_t id;
};

// Candidates ordered by descending probability (lowest id first among equals), sorted lazily:
// at(i) sorts just enough of the list to know its first i + 1 entries. Entries carry their
// probability, so comparisons never chase ids into another array.
class DescendingOrder {
 public:
  explicit DescendingOrder(std::vector<Candidate> c) : c_(std::move(c)) {}
  const Candidate& at(size_t i) {
    if (i >= sorted_) prefix(std::max(i + 1, std::min(c_.size(), std::max<size_t>(64, sorted_ * 4))));
    return c_[i];
  }
  size_t size() const { return c_.size(); }

 private:
  void prefix(size_t k) {
    // Only the unsorted tail moves: select the next k - sorted_ entries from it, then sort
    // those. A strict total order makes the result unique, whatever steps led to it.
    const auto before = [](const Candidate& a, const Candidate& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); };
    const auto first = c_.begin() + static_cast<std::ptrdiff_t>(sorted_);
    const auto last = c_.begin() + static_cast<std::ptrdiff_t>(k);
    if (last != c_.end()) std::nth_element(first, last, c_.end(), before);
    std::sort(first, last, before);
    sorted_ = k;
  }
  std::vector<Candidate> c_;
  size_t sorted_ = 0;
};

}  // namespace

int32_t sample(const float* logits, int64_t vocab, const SamplingParams& params, float uniform) {
  if (vocab <= 0) op_error("sample", "vocabulary size must be positive, got " + std::to_string(vocab));
  if (!(params.temperature > 0.0f)) return argmax(logits, vocab);

  const double top = logits[argmax(logits, vocab)];
  const double inv_t = 1.0 / static_cast<double>(params.temperature);
  std::vector<Candidate> c(static_cast<size_t>(vocab));
  double z = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    c[i] = {std::exp((static_cast<double>(logits[i]) - top) * inv_t), static_cast<int32_t>(i)};
    z += c[i].p;
  }
  for (Candidate& e : c) e.p /= z;

  DescendingOrder order(std::move(c));
  // The nucleus: the smallest prefix whose mass reaches top_p (top_p >= 1 keeps everything).
  size_t kept = order.size();
  double kept_mass = 1.0;
  if (params.top_p < 1.0f) {
    double cum = 0.0;
    for (size_t i = 0; i < order.size(); ++i) {
      cum += order.at(i).p;
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
    cum += order.at(i).p;
    if (cum > target) return order.at(i).id;
  }
  return order.at(kept - 1).id;  // rounding left the target just above the last sum
}

}  // namespace kvwb::kernels::cpu
