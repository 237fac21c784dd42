#include "ui/models/decimate.h"

#include <algorithm>

namespace kvwb {

DecimatedSeries decimate_min_max(const std::vector<double>& keys, const std::vector<double>& values, double from,
                                 double to, int buckets) {
  DecimatedSeries out;
  const size_t n = std::min(keys.size(), values.size());
  const size_t first = static_cast<size_t>(std::lower_bound(keys.begin(), keys.begin() + n, from) - keys.begin());
  const size_t end = static_cast<size_t>(std::upper_bound(keys.begin(), keys.begin() + n, to) - keys.begin());
  auto put = [&](size_t i) {
    out.keys.push_back(keys[i]);
    out.values.push_back(values[i]);
  };
  if (first > 0) put(first - 1);
  if (buckets < 1 || to <= from || end - first <= 2 * static_cast<size_t>(std::max(buckets, 0))) {
    for (size_t i = first; i < end; ++i) put(i);
  } else {
    const double width = (to - from) / buckets;
    size_t i = first;
    while (i < end) {
      // One bucket: [i, j) share a column.
      const auto column = static_cast<int64_t>((keys[i] - from) / width);
      size_t j = i, lo = i, hi = i;
      while (j < end && static_cast<int64_t>((keys[j] - from) / width) == column) {
        if (values[j] < values[lo]) lo = j;
        if (values[j] > values[hi]) hi = j;
        ++j;
      }
      put(std::min(lo, hi));
      if (lo != hi) put(std::max(lo, hi));
      i = j;
    }
  }
  if (end < n) put(end);
  return out;
}

std::vector<std::pair<double, double>> merge_bars(const std::vector<std::pair<double, double>>& bars, double from,
                                                  double to, int buckets) {
  std::vector<std::pair<double, double>> out;
  const double gap = buckets > 0 && to > from ? (to - from) / buckets : 0.0;
  for (const auto& [a, b] : bars) {
    if (b < from || a > to) continue;
    // A bar is drawn at least one bucket wide, so a span shorter than a pixel still shows.
    const double end = std::max(b, a + gap);
    if (!out.empty() && a - out.back().second < gap) {
      out.back().second = std::max(out.back().second, end);
    } else {
      out.emplace_back(a, end);
    }
  }
  return out;
}

}  // namespace kvwb
