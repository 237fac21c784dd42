// RunRecording on a real Run (llama-tied fixture, KV-Compress with a small budget, so the
// engine evicts): steps with per-head eviction counts, retention snapshots, results and the
// traced request's eviction map land in the session and agree with each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <tuple>

#include "run/run.h"
#include "run/run_report.h"
#include "run/session_recording.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

RunConfig evicting_config(const testing_util::ScratchDir& dir) {
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
  return config;
}

TEST(RunRecording, RecordsStepsRetentionResultsAndTheTracedRequestsEvictionMap) {
  testing_util::ScratchDir dir;
  RunConfig config = evicting_config(dir);
  config.trace_sequences = {"a"};
  kvwb::Run run(config);

  const std::string db = dir.file("s.db");
  RecordingOptions recording_options;
  recording_options.retention_every = 2;
  // Compare everything recorded with the run: no item may be dropped, however long a loaded
  // machine holds the writer (dropping under pressure is SessionRecorder's own test).
  recording_options.recorder.enqueue_wait = std::chrono::seconds(60);
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
  // Eviction's share of the steps that evicted: exactly those steps' times.
  int64_t evicting_steps = 0;
  double evicting_wall = 0, evicting_eviction = 0;
  for (const StepStats& step : s.steps) {
    if (step.evicted_slots == 0) continue;
    ++evicting_steps;
    evicting_wall += step.wall_seconds;
    evicting_eviction += step.eviction_seconds;
  }
  EXPECT_EQ(summary.evicting_steps, evicting_steps);
  EXPECT_NEAR(summary.evicting_steps_seconds, evicting_wall, 1e-9);
  EXPECT_NEAR(summary.evicting_steps_eviction_seconds, evicting_eviction, 1e-9);
  EXPECT_LT(summary.evicting_steps_eviction_seconds, summary.evicting_steps_seconds);
  const RunSummary stored = summary_from_json(s.summary);  // what sweeps and `sessions show` read back
  EXPECT_EQ(stored.evicting_steps, summary.evicting_steps);
  EXPECT_DOUBLE_EQ(stored.evicting_steps_seconds, summary.evicting_steps_seconds);
  EXPECT_DOUBLE_EQ(stored.evicting_steps_eviction_seconds, summary.evicting_steps_eviction_seconds);
  ASSERT_EQ(s.results.size(), 2u);
  // Every finished request's tokens: the prompt as fed, then the output, each with its text as
  // the model's tokenizer decodes that token alone.
  ASSERT_EQ(s.tokens.size(), 2u);
  for (const RequestResult& r : run.results()) {
    const auto t = std::find_if(s.tokens.begin(), s.tokens.end(), [&](const RequestTokens& x) { return x.request_id == r.id; });
    ASSERT_NE(t, s.tokens.end());
    EXPECT_EQ(t->prompt_tokens, r.prompt_tokens);
    const Request* request = nullptr;
    const Workload w = load_workload(config.workload);
    for (const Request& q : w.requests) {
      if (q.id == r.id) request = &q;
    }
    ASSERT_NE(request, nullptr);
    std::vector<int32_t> expected = request_tokens(run.model(), *request);
    expected.insert(expected.end(), r.output_tokens.begin(), r.output_tokens.end());
    EXPECT_EQ(t->ids, expected);
    ASSERT_EQ(t->pieces.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(t->pieces[i], run.model().tokenizer->decode_raw(std::span<const int32_t>(&expected[i], 1))) << i;
    }
  }
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

TEST(RunRecording, AProfiledRunStreamsItsEventsAndTheRecordersOwnWrites) {
  testing_util::ScratchDir dir;
  kvwb::Run run(evicting_config(dir));
  run.enable_profiling();
  const std::string db = dir.file("s.db");
  RecordingOptions options;
  options.recorder.batch_items = 4;  // many small commits, each a "session write" span
  options.recorder.enqueue_wait = std::chrono::seconds(60);  // lossless, as above
  RunRecording recording(run, db, options);
  const RunSummary summary = run.run_to_completion();
  const Trace trace = run.take_trace();  // what kvwb-cli --trace writes: everything, still
  recording.finish();
  ASSERT_EQ(recording.dropped(), 0);

  SessionStore store = SessionStore::open(db);
  const Session s = store.load(recording.session_id());
  ASSERT_EQ(static_cast<int64_t>(s.steps.size()), summary.steps);
  // Every span of the engine is in both: the session (streamed step by step) and the trace.
  auto key = [](const Span& x) { return std::make_tuple(x.name, x.start_ns, x.end_ns, x.step); };
  std::multiset<std::tuple<std::string, int64_t, int64_t, int64_t>> in_trace, in_session;
  int64_t step_spans = 0;
  for (const Span& x : trace.spans) {
    if (x.category == Category::sessions) continue;  // the last commits come after the last step
    in_trace.insert(key(x));
    if (x.category == Category::step) ++step_spans;
  }
  std::vector<const Span*> writes;
  for (const Span& x : s.events.spans) {
    if (x.category == Category::sessions) writes.push_back(&x);
    else in_session.insert(key(x));
  }
  EXPECT_EQ(step_spans, summary.steps);
  EXPECT_EQ(in_session, in_trace);
  EXPECT_EQ(s.events.counters.size(), trace.counters.size());

  // The recorder's commits, timed on its own named track.
  ASSERT_FALSE(writes.empty());
  for (const Span* w : writes) {
    EXPECT_EQ(w->name, "session write");
    EXPECT_GE(w->end_ns, w->start_ns);
    const ArgValue* items = w->arg("items");
    ASSERT_NE(items, nullptr);
    EXPECT_GT(std::get<int64_t>(*items), 0);
    const auto named = std::find_if(s.events.tracks.begin(), s.events.tracks.end(),
                                    [&](const TrackName& t) { return t.track == w->track; });
    ASSERT_NE(named, s.events.tracks.end());
    EXPECT_EQ(named->name, "session writer");
  }
}

}  // namespace
}  // namespace kvwb
