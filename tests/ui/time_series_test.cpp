#include "ui/models/time_series.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace kvwb {
namespace {

TEST(TimeSeries, BelowItsBoundsKeepsEveryPointAsGiven) {
  TimeSeries s(16, 8);
  for (int i = 0; i < 20; ++i) s.append(i * 0.5, i * i);
  ASSERT_EQ(s.size(), 20u);  // 12 folded into history bins of stride 1, 8 recent
  EXPECT_EQ(s.stride(), 1u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_DOUBLE_EQ(s.keys()[i], i * 0.5);
    EXPECT_DOUBLE_EQ(s.values()[i], i * i);
  }
}

TEST(TimeSeries, MemoryStaysBoundedOverALongRun) {
  TimeSeries s(64, 32);
  for (int i = 0; i < 100000; ++i) s.append(i, std::sin(i * 0.01));
  EXPECT_EQ(s.raw_count(), 100000u);
  EXPECT_LE(s.size(), 64u + 1 + 32u);  // history, the open bin, recent
  EXPECT_GE(s.stride(), 100000u / 64);
  EXPECT_TRUE(std::is_sorted(s.keys().begin(), s.keys().end()));
}

TEST(TimeSeries, MeanBinsAreWeightedMeansOfTheirPoints) {
  // For v = t, a bin's mean value equals its mean time exactly when every point is weighted
  // by the raw points behind it (an unweighted merge of unequal bins would break this).
  TimeSeries s(32, 16);
  for (int i = 0; i < 5000; ++i) s.append(i, i);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(s.values()[i], s.keys()[i], 1e-9 * (1 + s.keys()[i])) << i;
}

TEST(TimeSeries, HistoryBinsAreEvenlySpaced) {
  TimeSeries s(32, 16);
  for (int i = 0; i < 3000; ++i) s.append(i, 1.0);
  // Every history bin holds exactly `stride` raw points; over evenly spaced times consecutive
  // bins' keys therefore differ by the stride.
  const size_t bins = (s.raw_count() - 16) / s.stride();
  ASSERT_GT(bins, 4u);
  ASSERT_LE(bins, s.size() - 16);
  for (size_t i = 1; i < bins; ++i) EXPECT_DOUBLE_EQ(s.keys()[i] - s.keys()[i - 1], static_cast<double>(s.stride()));
  for (double v : s.values()) EXPECT_DOUBLE_EQ(v, 1.0);
}

TEST(TimeSeries, RecentPointsAreExact) {
  TimeSeries s(32, 16);
  for (int i = 0; i < 1000; ++i) s.append(i * 0.1, i % 7);
  const size_t n = s.size();
  for (size_t j = 0; j < 16; ++j) {
    const int i = 1000 - 16 + static_cast<int>(j);
    EXPECT_DOUBLE_EQ(s.keys()[n - 16 + j], i * 0.1);
    EXPECT_DOUBLE_EQ(s.values()[n - 16 + j], i % 7);
  }
}

TEST(TimeSeries, MaxBinsKeepAPeakVisible) {
  TimeSeries s(32, 16, TimeSeries::Merge::Max);
  for (int i = 0; i < 20000; ++i) s.append(i, i == 1234 ? 100.0 : 1.0);
  EXPECT_DOUBLE_EQ(*std::max_element(s.values().begin(), s.values().end()), 100.0);
  TimeSeries mean(32, 16);
  for (int i = 0; i < 20000; ++i) mean.append(i, i == 1234 ? 100.0 : 1.0);
  EXPECT_LT(*std::max_element(mean.values().begin(), mean.values().end()), 100.0);  // averaged away
}

TEST(TimeSeries, TimesNeverGoBackwards) {
  TimeSeries s;
  s.append(5, 1);
  s.append(3, 2);  // clamped to 5
  EXPECT_DOUBLE_EQ(s.keys()[1], 5.0);
  EXPECT_DOUBLE_EQ(s.last_value(), 2.0);
}

TEST(TimeSeries, RevisionMovesOnEveryChangeAndClearEmpties) {
  TimeSeries s;
  const uint64_t r0 = s.revision();
  s.append(1, 1);
  EXPECT_NE(s.revision(), r0);
  const uint64_t r1 = s.revision();
  s.clear();
  EXPECT_NE(s.revision(), r1);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.stride(), 1u);
}

TEST(TimeSeries, MaxInAWindow) {
  TimeSeries s;
  for (int i = 0; i < 10; ++i) s.append(i, 10 - i);
  EXPECT_DOUBLE_EQ(s.max_in(3, 6, -1), 7.0);
  EXPECT_DOUBLE_EQ(s.max_in(20, 30, -1), -1.0);
}

}  // namespace
}  // namespace kvwb
