// The soak's measuring helpers (run/soak.h) on hand-made samples and descriptors.
#include <gtest/gtest.h>
#include <unistd.h>

#include "run/soak.h"

namespace kvwb {
namespace {

TEST(SoakMeasure, GrowthIsTheLastThirdMinusTheFirstThirdAfterWarmUp) {
  std::vector<SoakSample> samples;
  for (int i = 0; i < 12; ++i) {
    SoakSample s;
    s.seconds = i;
    s.rss_bytes = i < 3 ? 1000 : 100 + i;  // warm-up spike, then +1 per sample
    samples.push_back(s);
  }
  // After 3 s: values 103..111 (9 samples); first third 103,104,105, last 109,110,111.
  EXPECT_DOUBLE_EQ(soak_growth(samples, 3, &SoakSample::rss_bytes), 6.0);
  EXPECT_DOUBLE_EQ(soak_growth(samples, 11, &SoakSample::rss_bytes), 0.0);  // too few left
}

TEST(SoakMeasure, OpenFdCountSeesADescriptorOpenAndClose) {
  const int64_t before = open_fd_count();
  const int fd = ::dup(1);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(open_fd_count(), before + 1);
  ::close(fd);
  EXPECT_EQ(open_fd_count(), before);
}

}  // namespace
}  // namespace kvwb
