// Pareto frontier and recommendation on hand-made points: dominated points, ties, unknown
// accuracy, and a floor nothing reaches.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "run/sweep/pareto.h"

namespace kvwb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(SweepPareto, DominatedPointsAreOffTheFrontier) {
  //                                      0 full KV    1 good      2 worse than 1  3 fast, bad
  const std::vector<TradeoffPoint> points = {{10, 1.0}, {20, 0.97}, {15, 0.90}, {30, 0.50}};
  EXPECT_EQ(pareto_frontier(points), (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(recommend(points, 0.96), 1u);
  EXPECT_EQ(recommend(points, 0.97), 1u);  // at the floor counts
  EXPECT_EQ(recommend(points, 0.98), 0u);
  EXPECT_EQ(recommend(points, 0.40), 3u);
  EXPECT_EQ(recommend(points, 0.0), 3u);
}

TEST(SweepPareto, NothingAboveTheFloorRecommendsNothing) {
  const std::vector<TradeoffPoint> points = {{10, 0.9}, {20, 0.8}};
  EXPECT_FALSE(recommend(points, 0.96).has_value());
  EXPECT_FALSE(recommend({}, 0.5).has_value());
  EXPECT_TRUE(pareto_frontier({}).empty());
}

TEST(SweepPareto, TiesStayOnTheFrontierAndBreakTowardAccuracyThenOrder) {
  // 0 and 2 are the same point: neither dominates the other. 1 is as fast as 0 but less
  // accurate (dominated); 3 is as accurate as 0 but slower (dominated).
  const std::vector<TradeoffPoint> points = {{20, 0.97}, {20, 0.95}, {20, 0.97}, {18, 0.97}};
  EXPECT_EQ(pareto_frontier(points), (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(recommend(points, 0.9), 0u);  // equally fast: the more accurate, then the first
  const std::vector<TradeoffPoint> reversed = {{20, 0.95}, {20, 0.97}};
  EXPECT_EQ(recommend(reversed, 0.9), 1u);
}

TEST(SweepPareto, UnknownAccuracyIsNeverOnTheFrontierNorRecommended) {
  const std::vector<TradeoffPoint> points = {{50, kNaN}, {10, 0.5}, {5, 0.4}};
  EXPECT_EQ(pareto_frontier(points), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(recommend(points, 0.0), 1u);
}

TEST(SweepPareto, TheRecommendationIsTheFastestAboveTheFloorAndOnTheFrontier) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> tp(1, 20), acc(0, 10);  // coarse values: many ties
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<TradeoffPoint> points(1 + trial % 9);
    for (TradeoffPoint& p : points) p = {static_cast<double>(tp(rng)), acc(rng) / 10.0};
    const std::vector<bool> frontier = pareto_frontier(points);
    const double floor = acc(rng) / 10.0;
    const auto best = recommend(points, floor);
    double fastest = -1;
    for (const TradeoffPoint& p : points) {
      if (p.accuracy >= floor) fastest = std::max(fastest, p.throughput);
    }
    if (fastest < 0) {
      EXPECT_FALSE(best.has_value());
      continue;
    }
    ASSERT_TRUE(best.has_value());
    EXPECT_EQ(points[*best].throughput, fastest);
    EXPECT_GE(points[*best].accuracy, floor);
    EXPECT_TRUE(frontier[*best]) << "trial " << trial;
    // Frontier points: none is dominated by another point (checked pairwise here).
    for (size_t i = 0; i < points.size(); ++i) {
      bool dominated = false;
      for (const TradeoffPoint& q : points) {
        dominated = dominated || (q.throughput >= points[i].throughput && q.accuracy >= points[i].accuracy &&
                                  (q.throughput > points[i].throughput || q.accuracy > points[i].accuracy));
      }
      EXPECT_EQ(frontier[i], !dominated) << "trial " << trial << " point " << i;
    }
  }
}

}  // namespace
}  // namespace kvwb
