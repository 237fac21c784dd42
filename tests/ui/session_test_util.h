#pragma once
// Recorded sessions for the session-browser tests: a real Run of the fixture model recorded
// into a database, with the engine's own step statistics (retention snapshots every step) kept
// beside it as the independent expectation.
#include <string>
#include <vector>

#include "run/run.h"
#include "run/session_recording.h"
#include "tests/ui/ui_test_util.h"

namespace kvwb::ui_test {

struct RecordedRun {
  int64_t session_id = 0;
  std::vector<StepStats> steps;  // as the engine returned them, with retention
  RunSummary summary;
};

// Two requests whose prompts pass the budget, so KV-Compress evicts per head.
inline RunConfig evicting_config(const TempDir& dir, const std::string& policy = "kv-compress", int64_t budget = 24) {
  RunConfig c = fixture_config(write_workload(dir, 2, 40, 12));
  c.kv_pool_bytes = int64_t{4} << 20;  // no preemption: decisions stay final
  c.block_size = 8;
  c.prefill_chunk = 32;
  c.policy.name = policy;
  if (policy != "full") c.policy.budget_tokens = budget;
  c.policy.protected_recent = 8;
  c.policy.window = 8;
  c.policy.sinks = 2;
  c.policy.decode_interval = 4;
  return c;
}

inline RecordedRun record_run(const RunConfig& config, const std::string& db, bool profile = false) {
  RecordedRun out;
  Run run(config);
  if (profile) run.enable_profiling();
  RecordingOptions options;
  options.retention_every = 1;
  RunRecording recording(run, db, options);
  while (!run.done()) out.steps.push_back(run.step().stats);
  out.summary = run.summary();
  recording.finish();
  out.session_id = recording.session_id();
  return out;
}

}  // namespace kvwb::ui_test
