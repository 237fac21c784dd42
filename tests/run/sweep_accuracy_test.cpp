// Accuracy relative to full KV on hand-made results: per-task ratios of mean scores, tasks
// where the reference scores 0 left out, fidelity as token agreement; and the sweep's analysis
// switching to fidelity when the reference scores 0 everywhere.
#include <gtest/gtest.h>

#include <cmath>

#include "run/sweep/relative_accuracy.h"
#include "run/sweep/sweep.h"

namespace kvwb {
namespace {

SessionResult result(const std::string& id, const std::string& task, std::optional<double> score,
                     std::vector<int32_t> tokens) {
  SessionResult r;
  r.id = id;
  r.task = task;
  r.score = score;
  r.output_tokens = std::move(tokens);
  return r;
}

TEST(SweepAccuracy, PerTaskRatiosOfMeanScores) {
  const std::vector<SessionResult> reference = {
      result("a1", "a", 1.0, {1, 2}), result("a2", "a", 1.0, {3, 4}),  // task a: mean 1
      result("b1", "b", 1.0, {5}),    result("b2", "b", 0.0, {6}),     // task b: mean 0.5
      result("c1", "c", 0.0, {7}),                                      // task c: reference fails
  };
  const std::vector<SessionResult> point = {
      result("a1", "a", 1.0, {1, 2}), result("a2", "a", 0.0, {3, 9}),  // a: mean 0.5 -> 0.5
      result("b1", "b", 1.0, {5}),    result("b2", "b", 1.0, {6}),     // b: mean 1 -> 2.0
      result("c1", "c", 1.0, {7, 7}),                                   // c: no ratio
      result("extra", "a", 0.0, {1}),                                   // not in the reference
  };
  const AccuracyVsReference v = compare_to_reference(point, reference);
  EXPECT_EQ(v.compared, 5);
  ASSERT_EQ(v.tasks.size(), 3u);
  EXPECT_EQ(v.tasks[0].task, "a");
  EXPECT_DOUBLE_EQ(v.tasks[0].ratio, 0.5);
  EXPECT_DOUBLE_EQ(v.tasks[1].ratio, 2.0);
  EXPECT_DOUBLE_EQ(v.tasks[1].reference_mean, 0.5);
  EXPECT_TRUE(std::isnan(v.tasks[2].ratio));
  EXPECT_DOUBLE_EQ(v.relative_accuracy, (0.5 + 2.0) / 2);
  // Token agreement per request: 1, 0.5, 1, 1, 0.5 (c1 ran on one token).
  EXPECT_DOUBLE_EQ(v.fidelity, (1 + 0.5 + 1 + 1 + 0.5) / 5);
}

TEST(SweepAccuracy, UnscoredRequestsGiveFidelityOnly) {
  const std::vector<SessionResult> reference = {result("x", "", std::nullopt, {1, 2, 3, 4})};
  const std::vector<SessionResult> point = {result("x", "", std::nullopt, {1, 2, 0, 4})};
  const AccuracyVsReference v = compare_to_reference(point, reference);
  EXPECT_TRUE(v.tasks.empty());
  EXPECT_TRUE(std::isnan(v.relative_accuracy));
  EXPECT_DOUBLE_EQ(v.fidelity, 0.75);
  EXPECT_TRUE(std::isnan(compare_to_reference(point, {}).fidelity));  // nothing in common
}

SweepPoint point(const std::string& policy, std::optional<int64_t> budget, bool reference) {
  SweepPoint p;
  p.config.policy.name = policy;
  p.config.policy.budget_tokens = budget;
  p.reference = reference;
  p.label = policy;
  return p;
}

PointMeasurement measured(double tok_s, std::vector<SessionResult> results) {
  PointMeasurement m;
  m.summary.total_tokens_per_second = tok_s;
  m.results = std::move(results);
  return m;
}

TEST(SweepAccuracy, AnalysisUsesRelativeAccuracyWhenTheReferenceScores) {
  const std::vector<SweepPoint> points = {point("full", std::nullopt, true), point("batch-max", 64, false),
                                          point("batch-max", 128, false)};
  std::vector<std::optional<PointMeasurement>> m(3);
  m[0] = measured(100, {result("r1", "t", 1.0, {1}), result("r2", "t", 1.0, {2})});
  m[1] = measured(300, {result("r1", "t", 1.0, {1}), result("r2", "t", 0.0, {3})});  // 0.5 of full
  const SweepAnalysis partial = analyze_sweep(points, m, 0.96);
  EXPECT_FALSE(partial.complete);
  ASSERT_EQ(partial.rows.size(), 2u);
  EXPECT_EQ(partial.accuracy_basis, "relative accuracy");
  EXPECT_DOUBLE_EQ(partial.rows[1].accuracy, 0.5);
  EXPECT_EQ(partial.recommended, 0u);  // only full KV reaches 0.96
  EXPECT_TRUE(partial.rows[0].frontier && partial.rows[1].frontier);

  m[2] = measured(200, {result("r1", "t", 1.0, {1}), result("r2", "t", 1.0, {2})});  // as good as full
  const SweepAnalysis full = analyze_sweep(points, m, 0.96);
  EXPECT_TRUE(full.complete);
  EXPECT_EQ(full.recommended, 2u);
  EXPECT_FALSE(full.rows[0].frontier);  // budget 128 is faster and as accurate
}

TEST(SweepAccuracy, AnalysisFallsBackToFidelityWhenTheReferenceScoresZero) {
  const std::vector<SweepPoint> points = {point("full", std::nullopt, true), point("batch-max", 64, false)};
  std::vector<std::optional<PointMeasurement>> m(2);
  m[0] = measured(100, {result("r1", "t", 0.0, {1, 2}), result("r2", "t", 0.0, {3, 4})});
  m[1] = measured(200, {result("r1", "t", 0.0, {1, 2}), result("r2", "t", 0.0, {3, 5})});
  const SweepAnalysis a = analyze_sweep(points, m, 0.7);
  EXPECT_EQ(a.accuracy_basis, "fidelity");
  EXPECT_DOUBLE_EQ(a.rows[0].accuracy, 1.0);
  EXPECT_DOUBLE_EQ(a.rows[1].accuracy, 0.75);
  EXPECT_EQ(a.recommended, 1u);
}

TEST(SweepAccuracy, WithoutTheReferenceNothingIsRecommended) {
  const std::vector<SweepPoint> points = {point("full", std::nullopt, true), point("batch-max", 64, false)};
  std::vector<std::optional<PointMeasurement>> m(2);
  m[1] = measured(200, {result("r1", "t", 1.0, {1})});
  const SweepAnalysis a = analyze_sweep(points, m, 0.0);
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_TRUE(std::isnan(a.rows[0].accuracy));
  EXPECT_FALSE(a.recommended.has_value());
}

}  // namespace
}  // namespace kvwb
