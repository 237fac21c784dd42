#include "engine/runtime/policies/selection.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvwb {

std::vector<float> slot_scores(const HeadSlots& s, ScoreKind kind) {
  std::vector<float> out(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const float n = s.n_obs[i];
    switch (kind) {
      case ScoreKind::Recency: out[i] = static_cast<float>(s.positions[i]); break;
      case ScoreKind::Average:
      case ScoreKind::L1Avg: out[i] = n > 0 ? s.att_sum[i] / n : kKeep; break;
      case ScoreKind::L2Avg: out[i] = n > 0 ? s.att_sq[i] / n : kKeep; break;
      case ScoreKind::Sum:
      case ScoreKind::L1Sum: out[i] = s.att_sum[i]; break;
      case ScoreKind::L2Sum: out[i] = s.att_sq[i]; break;
    }
  }
  return out;
}

void pool_scores(std::vector<float>& scores, int64_t kernel, PoolKind kind) {
  if (kind == PoolKind::None || kernel <= 1 || scores.empty()) return;
  const int64_t half = kernel / 2, n = static_cast<int64_t>(scores.size());
  std::vector<float> out(scores.size());
  for (int64_t i = 0; i < n; ++i) {
    if (scores[static_cast<size_t>(i)] == kKeep) {
      out[static_cast<size_t>(i)] = kKeep;
      continue;
    }
    float acc = kind == PoolKind::Max ? -kKeep : 0.0f;
    int64_t count = 0;
    for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min(n - 1, i + half); ++j) {
      const float v = scores[static_cast<size_t>(j)];
      if (v == kKeep) continue;
      acc = kind == PoolKind::Max ? std::max(acc, v) : acc + v;
      ++count;
    }
    out[static_cast<size_t>(i)] = kind == PoolKind::Max ? acc : acc / static_cast<float>(count);
  }
  scores = std::move(out);
}

std::vector<uint8_t> protected_slots(const HeadSlots& s, int64_t sinks, int64_t recent, int64_t context_length) {
  std::vector<uint8_t> prot(s.size(), 0);
  for (size_t i = 0; i < s.size(); ++i) {
    const int64_t p = s.positions[i];
    prot[i] = (p < sinks || p >= context_length - recent) ? 1 : 0;
  }
  return prot;
}

std::vector<int64_t> lowest_to_evict(const std::vector<float>& scores, const std::vector<uint8_t>& prot, int64_t keep) {
  const int64_t n = static_cast<int64_t>(scores.size());
  if (n <= keep) return {};
  std::vector<int64_t> candidates;
  for (int64_t i = 0; i < n; ++i) {
    if (!prot[static_cast<size_t>(i)] && scores[static_cast<size_t>(i)] != kKeep) candidates.push_back(i);
  }
  const int64_t want = std::min<int64_t>(n - keep, static_cast<int64_t>(candidates.size()));
  // Stable: equal scores leave in slot (position) order, oldest first.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](int64_t a, int64_t b) { return scores[static_cast<size_t>(a)] < scores[static_cast<size_t>(b)]; });
  std::vector<int64_t> out(candidates.begin(), candidates.begin() + want);
  std::sort(out.begin(), out.end());
  return out;
}

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

std::vector<int64_t> block_groups_to_evict(const std::vector<std::vector<float>>& scores, int64_t block_size,
                                           int64_t evict_tokens) {
  std::vector<int64_t> evict(scores.size(), 0);
  if (evict_tokens <= 0) return evict;
  struct Group {
    float cost;
    size_t head;
  };
  std::vector<Group> groups;
  for (size_t h = 0; h < scores.size(); ++h) {
    std::vector<float> sorted = scores[h];
    std::sort(sorted.begin(), sorted.end());
    for (size_t g = 0; (g + 1) * static_cast<size_t>(block_size) <= sorted.size(); ++g) {
      const float cost = sorted[(g + 1) * static_cast<size_t>(block_size) - 1];  // the group's largest
      if (cost == kKeep) break;  // this and later groups hold protected slots
      groups.push_back({cost, h});
    }
  }
  // A head's groups are already in increasing cost, so a stable sort keeps each head's own
  // order: taking the cheapest groups overall takes each head's cheapest first.
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.cost < b.cost; });
  int64_t chosen = 0;
  for (const Group& g : groups) {
    if (chosen >= evict_tokens) break;
    evict[g.head] += block_size;
    chosen += block_size;
  }
  return evict;
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
