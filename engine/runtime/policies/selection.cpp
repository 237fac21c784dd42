#include "engine/runtime/policies/selection.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvwb {

std::vector<int64_t> allocate_keep_across_heads(const std::vector<std::vector<float>>& scores,
                                                const std::vector<std::vector<uint8_t>>& prot, int64_t total_keep,
                                                int64_t floor_per_head) {
  const size_t heads = scores.size();
  std::vector<int64_t> keep(heads, 0);
  struct Entry {
    float score;
    size_t head;
  };
  std::vector<Entry> pool;
  int64_t used = 0;
  for (size_t h = 0; h < heads; ++h) {
    // Protected slots are kept first; the floor is filled with the head's best other slots.
    std::vector<float> free;
    for (size_t i = 0; i < scores[h].size(); ++i) {
      if (prot[h][i] || scores[h][i] == kKeep) ++keep[h];
      else free.push_back(scores[h][i]);
    }
    std::sort(free.begin(), free.end(), std::greater<>());
    const int64_t floor_free = std::clamp<int64_t>(floor_per_head - keep[h], 0, static_cast<int64_t>(free.size()));
    keep[h] += floor_free;
    for (size_t i = static_cast<size_t>(floor_free); i < free.size(); ++i) pool.push_back({free[i], h});
    used += keep[h];
  }
  // The rest of the budget goes to the best remaining slots of any head (flattened top-k).
  int64_t left = std::max<int64_t>(0, total_keep - used);
  std::stable_sort(pool.begin(), pool.end(), [](const Entry& a, const Entry& b) { return a.score > b.score; });
  for (size_t i = 0; i < pool.size() && left > 0; ++i, --left) ++keep[pool[i].head];
  return keep;
}

std::vector<int64_t> pyramid_budgets(int64_t budget, int64_t num_layers, double beta) {
  std::vector<int64_t> out(static_cast<size_t>(num_layers), budget);
  if (num_layers <= 1) return out;
  const double min_budget = static_cast<double>(budget) / beta;
  const double max_budget = 2.0 * static_cast<double>(budget) - min_budget;
  const double step = (max_budget - min_budget) / static_cast<double>(num_layers - 1);
  for (int64_t l = 0; l < num_layers; ++l) {
    out[static_cast<size_t>(l)] = std::max<int64_t>(1, static_cast<int64_t>(std::llround(max_budget - step * static_cast<double>(l))));
  }
  return out;
}

}  // namespace kvwb
