// Bad input arriving while sessions are being recorded: a workload with one bad line among good
// ones, and a config change that is invalid mid-run. Each gives a clear error, and nothing
// already recorded is lost or changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>

#include "engine/core/error.h"
#include "run/run.h"
#include "run/session_recording.h"
#include "sessions/session_store.h"
#include "tests/cli/cli_process.h"
#include "tests/sessions/session_test_util.h"

namespace kvwb {
namespace {

using testing_util::ScratchDir;

const std::string kModel = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";

std::string good_line(const std::string& id, int words) {
  std::string prompt;
  for (int i = 0; i < words; ++i) prompt += "word" + std::to_string(i) + " ";
  return "{\"id\": \"" + id + "\", \"prompt\": \"" + prompt + "\", \"max_new_tokens\": 8}";
}

// The strict default: a run never silently drops requests, so the whole workload is refused
// before the model loads, with file and line; the session database keeps what it had.
TEST(RunFaults, AWorkloadWithOneBadLineIsRefusedBeforeRecordingAndTheStoreKeepsItsSessions) {
  ScratchDir dir;
  const std::string db = dir.file("sessions.db");
  const std::string good = dir.file("good.jsonl");
  std::ofstream(good) << good_line("a", 5) << "\n" << good_line("b", 9) << "\n";
  const auto first = cli_test::cli("run --model " + kModel + " --workload " + good + " --kv-pool 4MiB --quiet --record " + db);
  ASSERT_EQ(first.code, 0) << first.err;
  int64_t steps_before = 0;
  {
    SessionStore store = SessionStore::open(db, sqlite::OpenMode::read_only);
    ASSERT_EQ(store.list().size(), 1u);
    steps_before = store.list()[0].steps;
    ASSERT_GT(steps_before, 0);
  }

  const std::string bad = dir.file("one_bad_line.jsonl");
  std::ofstream(bad) << good_line("a", 5) << "\n" << good_line("b", 7) << "\n"
                     << "{\"id\": \"c\", \"prompt\": \"no closing brace\"\n" << good_line("d", 3) << "\n";
  const auto second = cli_test::cli("run --model " + kModel + " --workload " + bad + " --kv-pool 4MiB --quiet --record " + db);
  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(second.err.rfind("kvwb-cli: error: " + bad + ":3: ", 0), 0u) << second.err;
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;

  SessionStore store = SessionStore::open(db, sqlite::OpenMode::read_only);
  const std::vector<SessionInfo> sessions = store.list();
  ASSERT_EQ(sessions.size(), 1u) << "no session for a run that never started";
  EXPECT_EQ(sessions[0].steps, steps_before);
  EXPECT_EQ(sessions[0].status, SessionStatus::finished);
}

RunConfig fixture_config(const std::string& workload) {
  RunConfig c;
  c.model = kModel;
  c.workload = workload;
  c.kv_pool_bytes = int64_t{4} << 20;
  c.block_size = 8;
  c.prefill_chunk = 16;
  c.max_batch = 3;
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = 24;
  c.policy.protected_recent = 8;
  c.policy.window = 8;
  c.policy.sinks = 2;
  return c;
}

std::map<std::string, std::vector<int32_t>> outputs_of(const Run& run) {
  std::map<std::string, std::vector<int32_t>> out;
  for (const RequestResult& r : run.results()) out[r.id] = r.output_tokens;
  return out;
}

// Live config changes the run must refuse, each with the key it is about; a refused change
// leaves the run exactly as it was (the same outputs as a run that never saw it), records no
// config change, and every step stays in the session.
TEST(RunFaults, AnInvalidConfigChangeMidRunIsRefusedAndTheRecordingGoesOn) {
  ScratchDir dir;
  const std::string workload = dir.file("w.jsonl");
  std::ofstream(workload) << good_line("a", 20) << "\n" << good_line("b", 14) << "\n" << good_line("c", 26) << "\n"
                          << good_line("d", 8) << "\n";
  const RunConfig config = fixture_config(workload);

  kvwb::Run reference(config);
  reference.run_to_completion();

  kvwb::Run run(config);
  const std::string db = dir.file("s.db");
  RunRecording recording(run, db);
  for (int i = 0; i < 3; ++i) run.step();

  struct BadChange {
    const char* expect;  // in the error
    std::function<void(RunConfig&)> change;
  };
  const std::vector<BadChange> changes{
      {"budget", [](RunConfig& c) { c.policy.budget_tokens.reset(); }},
      {"block_size", [](RunConfig& c) { c.block_size = 16; }},
      {"kv_pool_bytes", [](RunConfig& c) { c.kv_pool_bytes = int64_t{1} << 20; }},
      {"kv_dtype", [](RunConfig& c) { c.kv_dtype = c.kv_dtype == "f32" ? "f16" : "f32"; }},
      {"model", [](RunConfig& c) { c.model = "demo"; }},
      {"prefill_chunk", [](RunConfig& c) { c.prefill_chunk = 0; }},
      {"policy", [](RunConfig& c) { c.policy.name = "no-such-policy"; }},
  };
  for (const BadChange& bad : changes) {
    RunConfig changed = run.config();
    bad.change(changed);
    try {
      run.update_config(changed);
      ADD_FAILURE() << "accepted a change about " << bad.expect;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad.expect), std::string::npos) << e.what();
    }
    EXPECT_EQ(run_config_to_json(run.config()), run_config_to_json(config)) << "a refused change changed the run";
  }
  const RunSummary summary = run.run_to_completion();
  recording.finish();
  EXPECT_EQ(outputs_of(run), outputs_of(reference));

  SessionStore store = SessionStore::open(db, sqlite::OpenMode::read_only);
  const Session s = store.load(recording.session_id());
  EXPECT_EQ(s.info.status, SessionStatus::finished);
  EXPECT_TRUE(s.config_changes.empty());
  ASSERT_EQ(static_cast<int64_t>(s.steps.size()), summary.steps);
  for (size_t i = 0; i < s.steps.size(); ++i) EXPECT_EQ(s.steps[i].step, static_cast<int64_t>(i));
  EXPECT_EQ(s.results.size(), 4u);
}

}  // namespace
}  // namespace kvwb
