#pragma once
// The per-op summary of a trace (`kvwb-cli run --profile`): for every (category, name) of span,
// how often it ran and how long it took, and its share of the total step time.
//
// Percentiles use the nearest-rank definition: with the n durations sorted ascending,
// pXX = x[ceil(XX/100 · n) − 1], an observed value (no interpolation). So p50 of {1, 2, 3, 4} is
// 2 and p99 of 100 values is the 99th smallest.
#include <cstdint>
#include <string>
#include <vector>

#include "profiler/event.h"

namespace kvwb {

struct OpStats {
  std::string name;
  Category category = Category::op;
  int64_t count = 0;
  int64_t total_ns = 0;
  double mean_ns = 0;
  int64_t p50_ns = 0;
  int64_t p99_ns = 0;
  // total_ns / OpSummary::step_total_ns (0 without step spans). Nested spans (an op inside a
  // policy span, a GPU kernel under its op) are counted in both rows, so shares can sum past 1.
  double share_of_step = 0;
};

struct OpSummary {
  std::vector<OpStats> rows;  // by total time, longest first
  int64_t steps = 0;          // step spans in the trace
  int64_t step_total_ns = 0;  // their summed duration
  int64_t dropped_events = 0;
};

// Nearest-rank percentile (see above) of `values`, sorted here; 0 for no values. 0 < p <= 100.
int64_t nearest_rank_percentile(std::vector<int64_t> values, double p);

// Summarises every span that is not a step span.
OpSummary summarize_ops(const Trace& trace);

// A fixed-width text table, one row per op, with a header and a line about the steps (and any
// dropped events), for terminals.
std::string format_op_summary(const OpSummary& summary);

}  // namespace kvwb
