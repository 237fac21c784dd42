// The per-op summary against hand-computed values (nearest-rank percentiles, see op_summary.h).
#include <gtest/gtest.h>

#include <algorithm>

#include "profiler/op_summary.h"

namespace kvwb {
namespace {

Span span(std::string name, Category category, int64_t start, int64_t duration) {
  return Span{std::move(name), category, start, start + duration, Track{}, 0, {}};
}

TEST(OpSummary, NearestRankPercentileByHand) {
  EXPECT_EQ(nearest_rank_percentile({}, 50), 0);
  EXPECT_EQ(nearest_rank_percentile({7}, 50), 7);
  EXPECT_EQ(nearest_rank_percentile({7}, 99), 7);
  // {1, 2, 3, 4}: p50 = x[ceil(2) - 1] = 2; p99 = x[ceil(3.96) - 1] = 4; p25 = x[0] = 1.
  EXPECT_EQ(nearest_rank_percentile({4, 1, 3, 2}, 50), 2);
  EXPECT_EQ(nearest_rank_percentile({4, 1, 3, 2}, 99), 4);
  EXPECT_EQ(nearest_rank_percentile({4, 1, 3, 2}, 25), 1);
  EXPECT_EQ(nearest_rank_percentile({4, 1, 3, 2}, 100), 4);
  std::vector<int64_t> hundred;
  for (int64_t v = 100; v >= 1; --v) hundred.push_back(v);
  EXPECT_EQ(nearest_rank_percentile(hundred, 50), 50);
  EXPECT_EQ(nearest_rank_percentile(hundred, 99), 99);
  // 10 values: p99 = x[ceil(9.9) - 1] = x[9], the largest.
  EXPECT_EQ(nearest_rank_percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99), 10);
}

TEST(OpSummary, StatisticsOfAHandMadeTrace) {
  Trace trace;
  // Two steps of 1000 and 3000 ns: step time 4000 ns.
  trace.spans.push_back(span("step", Category::step, 0, 1000));
  trace.spans.push_back(span("step", Category::step, 2000, 3000));
  // "rope": 10, 20, 30, 40 ns.
  for (int64_t d : {30, 10, 40, 20}) trace.spans.push_back(span("rope", Category::op, 10, d));
  // "matmul": 1 .. 100 ns.
  for (int64_t d = 1; d <= 100; ++d) trace.spans.push_back(span("matmul", Category::op, 10, d));
  // Same name, other category: its own row.
  trace.spans.push_back(span("matmul", Category::kernel, 10, 500));
  trace.dropped_events = 3;

  const OpSummary summary = summarize_ops(trace);
  EXPECT_EQ(summary.steps, 2);
  EXPECT_EQ(summary.step_total_ns, 4000);
  EXPECT_EQ(summary.dropped_events, 3);
  ASSERT_EQ(summary.rows.size(), 3u);

  const OpStats& matmul = summary.rows[0];  // longest total first: 5050
  EXPECT_EQ(matmul.name, "matmul");
  EXPECT_EQ(matmul.category, Category::op);
  EXPECT_EQ(matmul.count, 100);
  EXPECT_EQ(matmul.total_ns, 5050);
  EXPECT_DOUBLE_EQ(matmul.mean_ns, 50.5);
  EXPECT_EQ(matmul.p50_ns, 50);
  EXPECT_EQ(matmul.p99_ns, 99);
  EXPECT_DOUBLE_EQ(matmul.share_of_step, 5050.0 / 4000.0);

  const OpStats& kernel = summary.rows[1];  // 500
  EXPECT_EQ(kernel.category, Category::kernel);
  EXPECT_EQ(kernel.count, 1);
  EXPECT_EQ(kernel.p50_ns, 500);
  EXPECT_EQ(kernel.p99_ns, 500);

  const OpStats& rope = summary.rows[2];  // 100
  EXPECT_EQ(rope.name, "rope");
  EXPECT_EQ(rope.count, 4);
  EXPECT_EQ(rope.total_ns, 100);
  EXPECT_DOUBLE_EQ(rope.mean_ns, 25.0);
  EXPECT_EQ(rope.p50_ns, 20);
  EXPECT_EQ(rope.p99_ns, 40);
  EXPECT_DOUBLE_EQ(rope.share_of_step, 0.025);
}

TEST(OpSummary, NoStepSpansMeansNoShare) {
  Trace trace;
  trace.spans.push_back(span("add", Category::op, 0, 10));
  const OpSummary summary = summarize_ops(trace);
  ASSERT_EQ(summary.rows.size(), 1u);
  EXPECT_EQ(summary.rows[0].share_of_step, 0.0);
  EXPECT_NE(format_op_summary(summary).find(" -\n"), std::string::npos);
}

TEST(OpSummary, TextTableShowsEveryRowInMillisecondsAndMicroseconds) {
  Trace trace;
  trace.spans.push_back(span("step", Category::step, 0, 10'000'000));    // 10 ms
  trace.spans.push_back(span("matmul", Category::op, 0, 2'500'000));     // 2.5 ms
  trace.spans.push_back(span("matmul", Category::op, 0, 1'500'000));     // 1.5 ms
  trace.spans.push_back(span("rmsnorm", Category::op, 0, 12'340));       // 12.34 µs
  trace.dropped_events = 5;
  const std::string text = format_op_summary(summarize_ops(trace));

  // Header, two rows, the steps line and the dropped warning.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << text;
  EXPECT_EQ(text.rfind("name", 0), 0u) << text;
  // matmul: count 2, total 4.000 ms, mean 2000.00 µs, p50 1500.00 µs, p99 2500.00 µs,
  // 40.0 % of the step.
  const auto matmul_line = text.substr(text.find("matmul"), text.find('\n', text.find("matmul")) -
                                                                text.find("matmul"));
  for (const char* expected : {" op ", " 2 ", " 4.000 ", " 2000.00 ", " 1500.00 ", " 2500.00 ",
                               " 40.0"}) {
    EXPECT_NE(matmul_line.find(expected), std::string::npos) << expected << " in: " << matmul_line;
  }
  EXPECT_NE(text.find("rmsnorm"), std::string::npos);
  EXPECT_NE(text.find("12.34"), std::string::npos);
  EXPECT_NE(text.find("steps: 1, step time 10.000 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("5 events were dropped"), std::string::npos) << text;
}

TEST(OpSummary, LongNamesAreCut) {
  Trace trace;
  const std::string long_name(80, 'k');
  trace.spans.push_back(span(long_name, Category::kernel, 0, 1));
  const std::string text = format_op_summary(summarize_ops(trace));
  EXPECT_EQ(text.find(long_name), std::string::npos);
  EXPECT_NE(text.find(std::string(45, 'k') + "..."), std::string::npos) << text;
}

}  // namespace
}  // namespace kvwb
