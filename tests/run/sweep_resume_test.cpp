// A real sweep on the llama-tied fixture: stopped after two points, it resumes without running
// them again (read back from the store, same sessions), reruns a point whose recording was
// interrupted, and a third invocation runs nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "run/run.h"
#include "run/session_recording.h"
#include "run/sweep/sweep.h"
#include "sessions/session_store.h"

namespace kvwb {
namespace {

class SweepResume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/kvwb_sweep_resume_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream w(dir_ + "/w.jsonl");
    const char* words[] = {"the cat sat on the mat ", "a dog ran in the park ", "one two three four five "};
    for (int i = 0; i < 6; ++i) {
      std::string prompt;
      for (int k = 0; k < 3 + i; ++k) prompt += words[(i + k) % 3];
      w << "{\"id\": \"r" << i << "\", \"prompt\": \"" << prompt << "\", \"max_new_tokens\": 10}\n";
    }
    base_.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
    base_.workload = dir_ + "/w.jsonl";
    base_.kv_pool_bytes = int64_t{1} << 20;
    base_.block_size = 8;
    base_.prefill_chunk = 32;
    base_.threads = 1;
    base_.policy.sinks = 2;
    base_.policy.protected_recent = 4;
    base_.policy.window = 4;
    base_.policy.decode_interval = 2;
    grid_ = {{"batch-max", "streaming-llm"}, {12, 256}, {}};
    options_.db_path = dir_ + "/sweep.db";
    options_.min_accuracy = 0.9;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<SessionInfo> sessions() { return SessionStore::open(options_.db_path).list(); }

  std::string dir_;
  RunConfig base_;
  SweepGrid grid_;
  SweepOptions options_;
};

TEST_F(SweepResume, StoppedSweepResumesWithoutRerunningRecordedPoints) {
  Sweep first(base_, grid_, options_);
  ASSERT_EQ(first.points().size(), 5u);
  std::atomic<bool> stop{false};
  SweepCallbacks callbacks;
  callbacks.point_finished = [&](size_t i, const SweepAnalysis&) {
    if (i == 1) stop = true;  // as Ctrl-C during the second point does
  };
  const SweepAnalysis stopped = first.run(callbacks, &stop);
  EXPECT_FALSE(stopped.complete);
  ASSERT_EQ(stopped.rows.size(), 2u);
  EXPECT_FALSE(stopped.rows[0].measured.reused);
  ASSERT_EQ(sessions().size(), 2u);
  for (const SessionInfo& s : sessions()) EXPECT_EQ(s.status, SessionStatus::finished);

  {  // A process killed during point 3 leaves an interrupted session of that config.
    kvwb::Run run(first.points()[2].config);
    RunRecording recording(run, options_.db_path);
    run.step();
    run.step();
  }
  ASSERT_EQ(sessions().size(), 3u);
  EXPECT_EQ(sessions()[2].status, SessionStatus::interrupted);

  Sweep second(base_, grid_, options_);
  const std::vector<int64_t> recorded = second.recorded_sessions();
  EXPECT_EQ(recorded, (std::vector<int64_t>{stopped.rows[0].measured.session_id, stopped.rows[1].measured.session_id,
                                            0, 0, 0}));
  std::vector<bool> started_reused;
  SweepCallbacks watch;
  watch.point_started = [&](size_t, const SweepPoint&, bool reused) { started_reused.push_back(reused); };
  const SweepAnalysis resumed = second.run(watch);
  EXPECT_TRUE(resumed.complete);
  EXPECT_EQ(started_reused, (std::vector<bool>{true, true, false, false, false}));
  ASSERT_EQ(resumed.rows.size(), 5u);
  for (size_t i = 0; i < 2; ++i) {  // read back: the same session and the same numbers
    EXPECT_TRUE(resumed.rows[i].measured.reused);
    EXPECT_EQ(resumed.rows[i].measured.session_id, stopped.rows[i].measured.session_id);
    EXPECT_DOUBLE_EQ(resumed.rows[i].measured.summary.total_tokens_per_second,
                     stopped.rows[i].measured.summary.total_tokens_per_second);
    EXPECT_EQ(resumed.rows[i].measured.results.size(), 6u);
    EXPECT_DOUBLE_EQ(resumed.rows[i].accuracy, stopped.rows[i].accuracy);
  }
  EXPECT_EQ(sessions().size(), 6u);  // 2 + the interrupted one + 3 new

  // The fixture's random model scores nothing: accuracy is fidelity to full KV. The reference
  // matches itself; a budget above every context (prompt <= 56 tokens + 10) keeps everything,
  // so its tokens are full KV's (an invariant, docs/architecture.md).
  EXPECT_EQ(resumed.accuracy_basis, "fidelity");
  EXPECT_DOUBLE_EQ(resumed.rows[0].accuracy, 1.0);
  for (const SweepRow& r : resumed.rows) {
    if (r.point.config.policy.budget_tokens == 256) {
      EXPECT_DOUBLE_EQ(r.vs_reference.fidelity, 1.0) << r.point.label;
    }
  }
  ASSERT_TRUE(resumed.recommended.has_value());
  EXPECT_TRUE(resumed.rows[*resumed.recommended].frontier);

  Sweep third(base_, grid_, options_);
  const SweepAnalysis again = third.run();
  for (const SweepRow& r : again.rows) EXPECT_TRUE(r.measured.reused) << r.point.label;
  EXPECT_EQ(sessions().size(), 6u);
  EXPECT_EQ(again.recommended, resumed.recommended);
}

}  // namespace
}  // namespace kvwb
