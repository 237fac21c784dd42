// Step counters: every field comes back under its name with its value and step; the retained
// summary and process RSS are checked against independent expectations.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "profiler/step_counters.h"

namespace kvwb {
namespace {

TEST(StepCounters, RetainedSummaryByHand) {
  const std::vector<int32_t> lengths{16, 4, 10, 2};
  const RetainedTokens r = summarize_retained(lengths);
  EXPECT_EQ(r.min, 2);
  EXPECT_EQ(r.max, 16);
  EXPECT_DOUBLE_EQ(r.mean, 8.0);
  const RetainedTokens none = summarize_retained({});
  EXPECT_EQ(none.min, 0);
  EXPECT_EQ(none.max, 0);
}

TEST(StepCounters, EveryCounterRoundTripsWithItsStepAndTime) {
  Profiler profiler;
  StepCounters c;
  c.batch_size = 8;
  c.running = 6;
  c.waiting = 3;
  c.tokens_per_second = 1234.5;
  c.kv_blocks_used = 100;
  c.kv_blocks_free = 28;
  c.kv_bytes = 6'553'600;
  c.evictions = 17;
  c.preemptions = 1;
  c.retained = RetainedTokens{2, 8, 16};
  c.process_rss_bytes = 1 << 30;
  c.gpu_memory_used_bytes = int64_t{5} << 30;
  record_step_counters(profiler, 12, c, 777);

  const Trace trace = profiler.take();
  std::map<std::string, double> value;
  for (const Counter& counter : trace.counters) {
    EXPECT_EQ(counter.step, 12) << counter.name;
    EXPECT_EQ(counter.time_ns, 777) << counter.name;
    EXPECT_TRUE(value.emplace(counter.name, counter.value).second) << "twice: " << counter.name;
  }
  namespace n = counter_names;
  const std::map<std::string, double> expected{
      {n::batch_size, 8},           {n::running, 6},
      {n::waiting, 3},              {n::tokens_per_second, 1234.5},
      {n::kv_blocks_used, 100},     {n::kv_blocks_free, 28},
      {n::kv_bytes, 6'553'600},     {n::evictions, 17},
      {n::preemptions, 1},          {n::retained_tokens_min, 2},
      {n::retained_tokens_mean, 8}, {n::retained_tokens_max, 16},
      {n::process_rss_bytes, 1 << 30},
      {n::gpu_memory_used_bytes, static_cast<double>(int64_t{5} << 30)},
  };
  EXPECT_EQ(value, expected);
}

TEST(StepCounters, OptionalCountersAreOmittedAndRssIsSampled) {
  Profiler profiler;
  record_step_counters(profiler, 0, StepCounters{}, 1);
  std::map<std::string, double> value;
  for (const Counter& counter : profiler.take().counters) value[counter.name] = counter.value;
  EXPECT_EQ(value.count(counter_names::retained_tokens_mean), 0u);
  EXPECT_EQ(value.count(counter_names::gpu_memory_used_bytes), 0u);
  ASSERT_EQ(value.count(counter_names::process_rss_bytes), 1u);
  EXPECT_GT(value[counter_names::process_rss_bytes], 0);
}

// VmRSS from /proc/self/status (kB): another view of the same number.
int64_t status_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

TEST(StepCounters, ProcessRssAgreesWithProcStatusAndSeesTouchedMemory) {
  const std::optional<int64_t> before = process_rss_bytes();
  ASSERT_TRUE(before.has_value());
  const int64_t status = status_rss_bytes();
  ASSERT_GT(status, 0);
  // Read moments apart: allow 4 MiB of drift between the two files.
  EXPECT_NEAR(static_cast<double>(*before), static_cast<double>(status), 4.0 * (1 << 20));

  constexpr size_t kBytes = size_t{64} << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);  // touch every page so it becomes resident
  const std::optional<int64_t> after = process_rss_bytes();
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(*after - *before, static_cast<int64_t>(kBytes) * 9 / 10);
  EXPECT_EQ(block[kBytes - 1], 1);
}

}  // namespace
}  // namespace kvwb
