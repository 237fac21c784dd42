// FrameStats on hand-made frame times: counts, means, nearest-rank percentiles, frames over the
// 50 ms budget and the longest gap between ticks.
#include "ui/widgets/frame_stats.h"

#include <gtest/gtest.h>

namespace kvwb {
namespace {

TEST(FrameStats, CountsMeansPercentilesAndFramesOverBudget) {
  FrameStats f;
  // Wall times 1..100 ms, CPU times half of them.
  for (int i = 1; i <= 100; ++i) f.add_frame(i, i / 2.0);
  EXPECT_EQ(f.frames(), 100);
  EXPECT_DOUBLE_EQ(f.mean_ms(), 50.5);
  EXPECT_DOUBLE_EQ(f.mean_cpu_ms(), 25.25);
  EXPECT_DOUBLE_EQ(f.max_ms(), 100);
  EXPECT_DOUBLE_EQ(f.max_cpu_ms(), 50);
  EXPECT_DOUBLE_EQ(f.percentile_ms(50), 50);  // nearest rank: the 50th of 100
  EXPECT_DOUBLE_EQ(f.percentile_ms(99), 99);
  EXPECT_DOUBLE_EQ(f.percentile_cpu_ms(99), 49.5);
  EXPECT_EQ(f.over_budget(), 50);  // 51..100 ms
}

TEST(FrameStats, TheLongestGapBetweenTicks) {
  FrameStats f;
  EXPECT_EQ(f.max_gap_ms(), 0);
  for (double t : {1000.0, 1033.0, 1066.0, 1150.0, 1183.0}) f.add_tick(t);
  EXPECT_DOUBLE_EQ(f.max_gap_ms(), 84.0);
  EXPECT_EQ(f.frames(), 0);  // ticks without a drawn frame are not frames
  EXPECT_NE(f.summary().find("replot frames: 0"), std::string::npos) << f.summary();
}

}  // namespace
}  // namespace kvwb
