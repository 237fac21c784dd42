#include "profiler/op_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace kvwb {

int64_t nearest_rank_percentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  // The small epsilon keeps e.g. 0.5 · 4 = 2 from becoming rank 3 through rounding.
  int64_t rank = static_cast<int64_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<int64_t>(rank, 1, static_cast<int64_t>(values.size()));
  return values[static_cast<size_t>(rank - 1)];
}

OpSummary summarize_ops(const Trace& trace) {
  OpSummary summary;
  summary.dropped_events = trace.dropped_events;
  std::map<std::pair<Category, std::string>, std::vector<int64_t>> durations;
  for (const Span& span : trace.spans) {
    if (span.category == Category::step) {
      ++summary.steps;
      summary.step_total_ns += span.duration_ns();
    } else {
      durations[{span.category, span.name}].push_back(span.duration_ns());
    }
  }
  for (auto& [key, values] : durations) {
    OpStats row;
    row.category = key.first;
    row.name = key.second;
    row.count = static_cast<int64_t>(values.size());
    for (int64_t v : values) row.total_ns += v;
    row.mean_ns = static_cast<double>(row.total_ns) / static_cast<double>(row.count);
    row.p50_ns = nearest_rank_percentile(values, 50);
    row.p99_ns = nearest_rank_percentile(std::move(values), 99);
    row.share_of_step = summary.step_total_ns > 0 ? static_cast<double>(row.total_ns) /
                                                        static_cast<double>(summary.step_total_ns)
                                                  : 0.0;
    summary.rows.push_back(std::move(row));
  }
  std::stable_sort(summary.rows.begin(), summary.rows.end(),
                   [](const OpStats& a, const OpStats& b) { return a.total_ns > b.total_ns; });
  return summary;
}

std::string format_op_summary(const OpSummary& summary) {
  size_t name_width = 4;
  for (const OpStats& row : summary.rows) name_width = std::max(name_width, row.name.size());
  name_width = std::min<size_t>(name_width, 48);  // long GPU kernel names are cut below

  std::string out = fmt::format("{:<{}}  {:<10} {:>8} {:>11} {:>10} {:>10} {:>10} {:>7}\n", "name",
                                name_width, "category", "count", "total ms", "mean us",
                                "p50 us", "p99 us", "% step");
  for (const OpStats& row : summary.rows) {
    std::string name = row.name.size() > name_width
                           ? row.name.substr(0, name_width - 3) + "..."
                           : row.name;
    const std::string share =
        summary.step_total_ns > 0 ? fmt::format("{:.1f}", 100.0 * row.share_of_step) : "-";
    out += fmt::format("{:<{}}  {:<10} {:>8} {:>11.3f} {:>10.2f} {:>10.2f} {:>10.2f} {:>7}\n",
                       name, name_width, category_name(row.category), row.count,
                       static_cast<double>(row.total_ns) / 1e6, row.mean_ns / 1e3,
                       static_cast<double>(row.p50_ns) / 1e3,
                       static_cast<double>(row.p99_ns) / 1e3, share);
  }
  out += fmt::format("steps: {}, step time {:.3f} ms", summary.steps,
                     static_cast<double>(summary.step_total_ns) / 1e6);
  if (summary.steps > 0) {
    out += fmt::format(" (mean {:.3f} ms)", static_cast<double>(summary.step_total_ns) / 1e6 /
                                                static_cast<double>(summary.steps));
  }
  out += "\n";
  if (summary.dropped_events > 0) {
    out += fmt::format("warning: {} events were dropped (profiler event cap reached)\n",
                       summary.dropped_events);
  }
  return out;
}

}  // namespace kvwb
