// The CI soak (docs/reliability.md has the hour-long one): two minutes of continuous batching
// on the fixture model with a live budget change every two seconds and recording on. After a
// 30-second warm-up, RSS and open file descriptors must stay flat: the test bounds their
// growth, not the speed (however few steps a loaded machine manages, each run, budget change
// and recorded session is a chance to leak).
#include <gtest/gtest.h>

#include <fstream>

#include "run/soak.h"
#include "tests/sessions/session_test_util.h"

namespace kvwb {
namespace {

TEST(Soak, TwoMinutesOfBatchingWithLiveBudgetChangesAndRecordingStayFlat) {
  testing_util::ScratchDir dir;
  const std::string workload = dir.file("w.jsonl");
  {
    std::ofstream out(workload);
    for (int i = 0; i < 12; ++i) {
      out << "{\"id\": \"r" << i << "\", \"prompt\": \"" << std::string(40 + 23 * (i % 5), static_cast<char>('a' + i))
          << "\", \"max_new_tokens\": " << 8 + 5 * (i % 4) << "}\n";
    }
  }
  SoakOptions o;
  o.config.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  o.config.workload = workload;
  o.config.kv_pool_bytes = int64_t{1} << 20;
  o.config.block_size = 8;
  o.config.prefill_chunk = 32;
  o.config.threads = 1;
  o.config.policy.name = "kv-compress";
  o.config.policy.budget_tokens = 64;
  o.config.policy.protected_recent = 8;
  o.config.policy.window = 8;
  o.config.record = dir.file("soak.db");
  o.seconds = 120;
  o.budget_change_seconds = 2;
  o.sample_seconds = 1;
  const double warmup = 30;
  const SoakReport r = run_soak(o);
  std::ofstream(dir.file("soak.csv")) << soak_csv(r.samples);

  ASSERT_GE(r.samples.size(), 100u);
  EXPECT_GE(r.runs, 2) << "the workload ran more than once";
  EXPECT_GE(r.budget_changes, 40);
  EXPECT_LT(r.refused_changes, r.budget_changes) << "the budgets actually changed";
  const double rss_growth = soak_growth(r.samples, warmup, &SoakSample::rss_bytes);
  const double fd_growth = soak_growth(r.samples, warmup, &SoakSample::open_fds);
  std::printf("soak: %lld steps, %lld runs, %lld budget changes (%lld refused); growth after warm-up: rss %+.2f MiB, fds %+.2f\n",
              static_cast<long long>(r.steps), static_cast<long long>(r.runs), static_cast<long long>(r.budget_changes),
              static_cast<long long>(r.refused_changes), rss_growth / (1 << 20), fd_growth);
  EXPECT_LE(rss_growth, 8.0 * (1 << 20)) << "RSS grew after warm-up";
  EXPECT_LE(fd_growth, 0.5) << "file descriptors leaked";
  int64_t max_fds = 0;
  for (const SoakSample& s : r.samples) max_fds = std::max(max_fds, s.open_fds);
  EXPECT_LE(max_fds, r.samples.front().open_fds + 8) << "file descriptors pile up";
}

}  // namespace
}  // namespace kvwb
