#include "engine/runtime/policies/span_eviction.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/runtime/policies/selection.h"

namespace kvwb {
namespace {

// Calls f(begin, end) for each run of slots [begin, end) of one span.
template <typename F>
void for_each_span(std::span<const int32_t> positions, std::span<const int32_t> span_start, F f) {
  const size_t n = positions.size();
  auto span_of = [&](size_t i) {
    const auto p = static_cast<size_t>(positions[i]);
    if (p >= span_start.size()) fail("policy.span", "slot at position {} has no span ({} known)", p, span_start.size());
    return span_start[p];
  };
  for (size_t begin = 0; begin < n;) {
    size_t end = begin + 1;
    while (end < n && span_of(end) == span_of(begin)) ++end;
    f(begin, end);
    begin = end;
  }
}

}  // namespace

void shared_position_scores(std::span<const std::vector<int32_t>> positions, std::span<std::vector<float>> scores) {
  int32_t end = 0;
  for (const auto& row : positions) {
    for (int32_t p : row) end = std::max(end, p + 1);
  }
  std::vector<float> best(static_cast<size_t>(end), -kKeep);
  for (size_t r = 0; r < positions.size(); ++r) {
    for (size_t i = 0; i < positions[r].size(); ++i) {
      float& b = best[static_cast<size_t>(positions[r][i])];
      if (scores[r][i] != kKeep) b = std::max(b, scores[r][i]);
    }
  }
  for (size_t r = 0; r < positions.size(); ++r) {
    for (size_t i = 0; i < positions[r].size(); ++i) {
      if (scores[r][i] != kKeep) scores[r][i] = best[static_cast<size_t>(positions[r][i])];
    }
  }
}

void span_max_scores(std::span<const int32_t> positions, std::span<const int32_t> span_start, std::span<float> scores) {
  for_each_span(positions, span_start, [&](size_t begin, size_t end) {
    float best = -kKeep;
    for (size_t i = begin; i < end; ++i) {
      if (scores[i] != kKeep) best = std::max(best, scores[i]);
    }
    for (size_t i = begin; i < end; ++i) {
      if (scores[i] != kKeep) scores[i] = best;
    }
  });
}

std::vector<int64_t> whole_span_victims(std::span<const int32_t> positions, std::span<const int32_t> span_start,
                                        std::span<const float> scores, const std::vector<int64_t>& victims) {
  if (victims.empty()) return {};
  std::vector<uint8_t> gone(positions.size(), 0);
  for (int64_t i : victims) gone[static_cast<size_t>(i)] = 1;
  for_each_span(positions, span_start, [&](size_t begin, size_t end) {
    if (std::none_of(gone.begin() + static_cast<std::ptrdiff_t>(begin), gone.begin() + static_cast<std::ptrdiff_t>(end),
                     [](uint8_t g) { return g != 0; })) {
      return;
    }
    for (size_t i = begin; i < end; ++i) {
      if (scores[i] != kKeep) gone[i] = 1;
    }
  });
  std::vector<int64_t> out;
  for (size_t i = 0; i < gone.size(); ++i) {
    if (gone[i]) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

}  // namespace kvwb
