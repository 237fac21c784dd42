// The reference eviction scoring and selection (kernels/eviction.h): the policies' own code,
// and what the CPU backend's score_slots / select_slots run.
#include "kernels/eviction.h"

#include <algorithm>
#include <functional>

namespace kvwb::kernels {

void raw_slot_scores(const int32_t* pos, const float* att_sum, const float* att_sq, const float* n_obs, int64_t n,
                     ScoreKind kind, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float obs = n_obs[i];
    switch (kind) {
      case ScoreKind::Recency: out[i] = static_cast<float>(pos[i]); break;
      case ScoreKind::Average:
      case ScoreKind::L1Avg: out[i] = obs > 0 ? att_sum[i] / obs : kKeepScore; break;
      case ScoreKind::L2Avg: out[i] = obs > 0 ? att_sq[i] / obs : kKeepScore; break;
      case ScoreKind::Sum:
      case ScoreKind::L1Sum: out[i] = att_sum[i]; break;
      case ScoreKind::L2Sum: out[i] = att_sq[i]; break;
    }
  }
}

void pool_slot_scores(float* scores, int64_t n, int64_t kernel, PoolKind kind) {
  if (kind == PoolKind::None || kernel <= 1 || n == 0) return;
  const int64_t half = kernel / 2;
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (scores[i] == kKeepScore) {
      out[static_cast<size_t>(i)] = kKeepScore;
      continue;
    }
    float acc = kind == PoolKind::Max ? -kKeepScore : 0.0f;
    int64_t count = 0;
    for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min(n - 1, i + half); ++j) {
      const float v = scores[j];
      if (v == kKeepScore) continue;
      acc = kind == PoolKind::Max ? std::max(acc, v) : acc + v;
      ++count;
    }
    out[static_cast<size_t>(i)] = kind == PoolKind::Max ? acc : acc / static_cast<float>(count);
  }
  std::copy(out.begin(), out.end(), scores);
}

void protect_slots(const int32_t* pos, int64_t n, int64_t sinks, int64_t recent, int64_t context_length,
                   uint8_t* prot) {
  for (int64_t i = 0; i < n; ++i) prot[i] = (pos[i] < sinks || pos[i] >= context_length - recent) ? 1 : 0;
}

void score_row(const int32_t* pos, const float* att_sum, const float* att_sq, const float* n_obs, int64_t n,
               const SlotScoring& s, float* out) {
  raw_slot_scores(pos, att_sum, att_sq, n_obs, n, s.kind, out);
  pool_slot_scores(out, n, s.pool_kernel, s.pool);
  std::vector<uint8_t> prot(static_cast<size_t>(n));
  protect_slots(pos, n, s.sinks, s.recent, s.context_length, prot.data());
  for (int64_t i = 0; i < n; ++i) {
    if (prot[static_cast<size_t>(i)]) out[i] = kKeepScore;
  }
}

std::vector<int64_t> lowest_to_evict(const float* scores, const uint8_t* prot, int64_t n, int64_t keep) {
  if (n <= keep) return {};
  std::vector<int64_t> candidates;
  for (int64_t i = 0; i < n; ++i) {
    if ((prot == nullptr || !prot[i]) && scores[i] != kKeepScore) candidates.push_back(i);
  }
  const int64_t want = std::min<int64_t>(n - keep, static_cast<int64_t>(candidates.size()));
  // Stable: equal scores leave in slot (position) order, oldest first.
  std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  std::vector<int64_t> out(candidates.begin(), candidates.begin() + want);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> block_groups_to_evict(const std::vector<std::vector<float>>& scores, int64_t group_size,
                                           int64_t evict_tokens) {
  std::vector<int64_t> evict(scores.size(), 0);
  if (evict_tokens <= 0) return evict;
  struct Group {
    float cost;
    size_t row;
  };
  std::vector<Group> groups;
  const size_t g_size = static_cast<size_t>(group_size);
  for (size_t r = 0; r < scores.size(); ++r) {
    std::vector<float> sorted = scores[r];
    std::sort(sorted.begin(), sorted.end());
    for (size_t g = 0; (g + 1) * g_size <= sorted.size(); ++g) {
      const float cost = sorted[(g + 1) * g_size - 1];  // the group's largest
      if (cost == kKeepScore) break;  // this and later groups hold protected slots
      groups.push_back({cost, r});
    }
  }
  // A row's groups are already in increasing cost, so a stable sort keeps each row's own
  // order: taking the cheapest groups overall takes each row's cheapest first.
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.cost < b.cost; });
  int64_t chosen = 0;
  for (const Group& g : groups) {
    if (chosen >= evict_tokens) break;
    evict[g.row] += group_size;
    chosen += group_size;
  }
  return evict;
}

void select_slots_reference(const float* scores, const SlotSelection& sel, int32_t* retained, int32_t* kept) {
  const auto rows = static_cast<size_t>(std::max(sel.num_rows, 0));
  auto row_length = [&](size_t r) { return static_cast<int64_t>(sel.offsets[r + 1] - sel.offsets[r]); };
  std::vector<int64_t> keep(rows);
  if (sel.keep != nullptr) {
    for (size_t r = 0; r < rows; ++r) keep[r] = sel.keep[r];
  } else {
    std::vector<std::vector<float>> per_row(rows);
    for (size_t r = 0; r < rows; ++r) per_row[r].assign(scores + sel.offsets[r], scores + sel.offsets[r + 1]);
    const std::vector<int64_t> evict = block_groups_to_evict(per_row, sel.group_size, sel.evict_tokens);
    for (size_t r = 0; r < rows; ++r) keep[r] = row_length(r) - evict[r];
  }
  for (size_t r = 0; r < rows; ++r) {
    const int64_t n = row_length(r);
    const std::vector<int64_t> victims = lowest_to_evict(scores + sel.offsets[r], nullptr, n, keep[r]);
    int32_t* out = retained + sel.offsets[r];
    int32_t count = 0;
    size_t v = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (v < victims.size() && victims[v] == i) {
        ++v;
        continue;
      }
      out[count++] = static_cast<int32_t>(i);
    }
    kept[r] = count;
  }
}

}  // namespace kvwb::kernels
