// RunRecording on a real Run (llama-tied fixture, KV-Compress with a small budget, so the
// engine evicts): steps with per-head eviction counts, retention snapshots, results and the
// traced request's eviction map land in the session and agree with each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "run/run.h"
#include "run/session_recording.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

TEST(RunRecording, RecordsStepsRetentionResultsAndTheTracedRequestsEvictionMap) {
  testing_util::ScratchDir dir;
  const std::string workload = dir.file("w.jsonl");
  std::ofstream(workload) << "{\"id\": \"a\", \"prompt\": \"" << std::string(90, 'x') << " tail\", \"max_new_tokens\": 20}\n"
                          << "{\"id\": \"b\", \"prompt\": \"" << std::string(70, 'y') << "\", \"max_new_tokens\": 12}\n";
  RunConfig config;
  config.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  config.workload = workload;
  config.kv_pool_bytes = int64_t{4} << 20;  // large: no preemption, so decisions are final
  config.block_size = 8;
  config.prefill_chunk = 32;
  config.policy.name = "kv-compress";
  config.policy.budget_tokens = 24;
  config.policy.protected_recent = 8;
  config.policy.window = 8;
  config.policy.sinks = 2;
  config.policy.decode_interval = 4;
  kvwb::Run run(config);
  // Run does not pass trace_sequences to the engine yet: trace "a" directly.
  EngineOptions options = run.engine().options();
  options.trace_ids = {"a"};
  run.engine().update(options);

  const std::string db = dir.file("s.db");
  RecordingOptions recording_options;
  recording_options.retention_every = 2;
  RunRecording recording(run, db, recording_options);
  const RunSummary summary = run.run_to_completion();
  recording.finish();
  ASSERT_GT(summary.evicted_slots, 0) << "the budget should force evictions";

  SessionStore store = SessionStore::open(db);
  const Session s = store.load(recording.session_id());
  EXPECT_EQ(s.info.status, SessionStatus::finished);
  ASSERT_EQ(static_cast<int64_t>(s.steps.size()), summary.steps);
  int64_t evicted = 0;
  for (const StepStats& step : s.steps) {
    int64_t per_head = 0;
    for (int64_t n : step.evictions_per_head) per_head += n;
    EXPECT_EQ(per_head, step.evicted_slots) << "step " << step.step;
    evicted += step.evicted_slots;
  }
  EXPECT_EQ(evicted, summary.evicted_slots);
  EXPECT_EQ(s.summary["evicted_slots"], summary.evicted_slots);
  ASSERT_EQ(s.results.size(), 2u);
  for (const RequestResult& r : run.results()) {
    const auto it = std::find_if(s.results.begin(), s.results.end(), [&](const SessionResult& x) { return x.id == r.id; });
    ASSERT_NE(it, s.results.end());
    EXPECT_EQ(it->output_tokens, r.output_tokens);
  }

  // The traced request's map: only "a", covering its whole context.
  ASSERT_EQ(s.eviction_maps.size(), 1u);
  const EvictionMap& map = s.eviction_maps[0];
  EXPECT_EQ(map.request_id, "a");
  const RequestResult& a = *std::find_if(run.results().begin(), run.results().end(),
                                         [](const RequestResult& r) { return r.id == "a"; });
  EXPECT_EQ(map.context_length, a.prompt_tokens + static_cast<int64_t>(a.output_tokens.size()));
  ASSERT_FALSE(map.heads.empty());
  std::set<int64_t> eviction_steps;
  for (const StepStats& step : s.steps) {
    if (step.evicted_slots > 0) eviction_steps.insert(step.step);
  }
  int64_t evicted_positions = 0;
  for (const HeadEvictions& h : map.heads) {
    for (size_t p = 0; p < h.evicted_at_step.size(); ++p) {
      if (h.evicted_at_step[p] < 0) continue;
      ++evicted_positions;
      EXPECT_TRUE(eviction_steps.count(h.evicted_at_step[p])) << "evicted at a step that evicted nothing";
      EXPECT_FALSE(std::isnan(h.scores[p]));
      EXPECT_GE(p, 2u) << "a sink was evicted";
    }
  }
  EXPECT_GT(evicted_positions, 0);

  // Every retention snapshot of "a" holds none of the positions evicted by then.
  ASSERT_FALSE(s.retention.empty());
  int64_t checked = 0;
  for (const RetentionSnapshot& snap : s.retention) {
    for (const HeadRetention& r : snap.heads) {
      if (r.request_id != "a") continue;
      for (const HeadEvictions& h : map.heads) {
        if (h.layer != r.layer || h.head != r.head) continue;
        for (int32_t p : r.positions) {
          const int32_t when = h.evicted_at_step[static_cast<size_t>(p)];
          EXPECT_TRUE(when < 0 || when > snap.step) << "position " << p << " retained at step " << snap.step
                                                    << " but evicted at " << when;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace kvwb
