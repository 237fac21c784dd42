// The soak's measuring helpers (run/soak.h) on hand-made samples and descriptors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "run/soak.h"
#include "sessions/session_store.h"
#include "tests/sessions/session_test_util.h"

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

// A long-lived server keeps a live budget change; so does the soak: each new run of the workload
// starts from the budget live when the previous run ended, not from the configured one.
TEST(Soak, ALiveBudgetChangeHoldsIntoTheNextRuns) {
  testing_util::ScratchDir dir;
  const std::string workload = dir.file("w.jsonl");
  std::ofstream(workload) << "{\"id\": \"a\", \"prompt\": \"abcdefghijklmnopqrstuvwxyz\", \"max_new_tokens\": 6}\n"
                          << "{\"id\": \"b\", \"prompt\": \"zyxwvutsrqponmlkjihgfedcba\", \"max_new_tokens\": 4}\n";
  SoakOptions o;
  o.config.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  o.config.workload = workload;
  o.config.kv_pool_bytes = int64_t{1} << 20;
  o.config.block_size = 8;
  o.config.threads = 1;
  o.config.policy.name = "kv-compress";
  o.config.policy.budget_tokens = 64;
  o.config.policy.protected_recent = 8;
  o.config.record = dir.file("soak.db");
  o.seconds = 3;
  o.budget_change_seconds = 0.5;
  o.budgets = {48, 96};
  const SoakReport r = run_soak(o);
  ASSERT_GE(r.budget_changes, 2);

  SessionStore store = SessionStore::open(o.config.record, sqlite::OpenMode::read_only);
  std::vector<SessionInfo> sessions = store.list();
  ASSERT_EQ(static_cast<int64_t>(sessions.size()), r.runs);
  std::sort(sessions.begin(), sessions.end(), [](const SessionInfo& a, const SessionInfo& b) { return a.id < b.id; });
  // Runs that started before the first change start at 64; every later one at a changed budget.
  size_t first_changed = 0;
  while (first_changed < sessions.size() && sessions[first_changed].config["policy"]["budget_tokens"] == 64) ++first_changed;
  ASSERT_LT(first_changed, sessions.size()) << "some run started after a budget change";
  for (size_t i = first_changed; i < sessions.size(); ++i) {
    const int budget = sessions[i].config["policy"]["budget_tokens"].get<int>();
    EXPECT_TRUE(budget == 48 || budget == 96) << "session " << sessions[i].id << " started at " << budget;
  }
}

}  // namespace
}  // namespace kvwb
