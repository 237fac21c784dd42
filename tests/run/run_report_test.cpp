// summary_from_json reads back everything summary_to_json writes (sessions store summaries as
// JSON; sweeps and `sessions show` read them back): a field added to one and not the other
// shows here.
#include <gtest/gtest.h>

#include "run/run_report.h"

namespace kvwb {
namespace {

TEST(RunReport, SummaryJsonRoundTrips) {
  RunSummary s;  // every field distinct, none zero
  s.requests = 3;
  s.steps = 5;
  s.prompt_tokens = 7;
  s.generated_tokens = 11;
  s.wall_seconds = 1.25;
  s.generated_tokens_per_second = 8.8;
  s.total_tokens_per_second = 14.4;
  s.mean_batch = 2.5;
  s.max_batch = 4;
  s.peak_blocks_used = 13;
  s.blocks_total = 17;
  s.kv_pool_bytes = 19;
  s.preemptions = 23;
  s.evicted_slots = 29;
  s.guide_tokens = 31;
  s.eviction_seconds = 0.125;
  s.evicting_steps = 2;
  s.evicting_steps_seconds = 0.5;
  s.evicting_steps_eviction_seconds = 0.0625;
  s.tasks["niah"] = {2, 0.5};
  s.tasks[""] = {1, 1.0};
  s.overall = {3, 2.0 / 3};
  const nlohmann::json j = summary_to_json(s);
  for (const auto& [key, value] : j.items()) {
    EXPECT_FALSE(value.is_number() && value.get<double>() == 0) << key << " is zero: the check would miss it";
  }
  EXPECT_EQ(summary_to_json(summary_from_json(j)), j);
  EXPECT_EQ(summary_to_json(summary_from_json(nlohmann::json())), summary_to_json(RunSummary{}));
}

}  // namespace
}  // namespace kvwb
