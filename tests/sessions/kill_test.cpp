// A recording process killed by SIGKILL mid-run leaves a readable database holding everything
// but the batch it was writing: a real child process (fork) records steps, reporting each
// flushed step through a pipe; the parent kills it at varying moments and checks the file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

constexpr int64_t kBatch = 16;
constexpr int64_t kRetentionEvery = 8;

// The child: records forever, flushing every kBatch steps and then reporting the last step.
[[noreturn]] void record_until_killed(const std::string& path, int report_fd) {
  try {
    RecorderOptions options;
    options.batch_items = kBatch;
    options.flush_interval = std::chrono::hours(1);
    options.queue_capacity = 1 << 16;  // never drops here: the steps must stay contiguous
    SessionRecorder recorder(path, testing_util::sample_session("killed"), options);
    for (int64_t i = 0;; ++i) {
      StepStats s = testing_util::sample_step(i);
      if (i % kRetentionEvery == 0) s.retention = testing_util::sample_retention(i);
      recorder.record_step(std::move(s));
      if (i % 64 == 0) {
        SessionResult r;
        r.id = "req-" + std::to_string(i);
        recorder.record_result(r);
      }
      if ((i + 1) % kBatch == 0) {
        recorder.flush();
        if (write(report_fd, &i, sizeof i) != sizeof i) _exit(3);
      }
    }
  } catch (...) {
    _exit(2);
  }
}

struct KillOutcome {
  int64_t last_reported = -1;
  int signal = 0;
};

KillOutcome run_and_kill(const std::string& path, int64_t reports_before_kill, std::chrono::microseconds delay) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    close(fds[0]);
    record_until_killed(path, fds[1]);
  }
  close(fds[1]);
  KillOutcome out;
  for (int64_t n = 0; n < reports_before_kill; ++n) {
    if (read(fds[0], &out.last_reported, sizeof out.last_reported) != sizeof out.last_reported) break;
  }
  std::this_thread::sleep_for(delay);  // land somewhere in the next batch
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  out.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  // Reports written before the kill are still in the pipe.
  int64_t step = 0;
  while (read(fds[0], &step, sizeof step) == sizeof step) out.last_reported = step;
  close(fds[0]);
  return out;
}

TEST(SessionKill, AKilledRecorderLeavesAReadableDatabaseMissingAtMostOneBatch) {
  testing_util::ScratchDir dir;
  const std::string path = dir.file("killed.db");
  const std::chrono::microseconds delays[] = {std::chrono::microseconds(0), std::chrono::microseconds(150),
                                              std::chrono::microseconds(700), std::chrono::microseconds(3000)};
  int64_t expected_sessions = 0;
  for (const auto delay : delays) {
    const KillOutcome k = run_and_kill(path, 20, delay);
    ASSERT_EQ(k.signal, SIGKILL) << "the child exited on its own";
    ASSERT_GE(k.last_reported, 20 * kBatch - 1);
    ++expected_sessions;

    SessionStore store = SessionStore::open(path);
    EXPECT_EQ(store.database().query_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    const std::vector<SessionInfo> sessions = store.list();
    ASSERT_EQ(static_cast<int64_t>(sessions.size()), expected_sessions);
    const SessionInfo& info = sessions.back();
    EXPECT_EQ(info.status, SessionStatus::interrupted);
    const Session s = store.load(info.id);

    // Every flushed step is there, in order and whole; beyond them at most one more batch.
    const auto n = static_cast<int64_t>(s.steps.size());
    EXPECT_GE(n, k.last_reported + 1) << "delay " << delay.count() << " us";
    EXPECT_LE(n, k.last_reported + 1 + kBatch) << "delay " << delay.count() << " us";
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(s.steps[i].step, i);
      EXPECT_EQ(s.steps[i].kv_bytes_used, testing_util::sample_step(i).kv_bytes_used);
    }
    // A step and its retention snapshot were in the same transaction.
    EXPECT_EQ(static_cast<int64_t>(s.retention.size()), (n + kRetentionEvery - 1) / kRetentionEvery);
    for (const RetentionSnapshot& r : s.retention) {
      EXPECT_EQ(r.heads.size(), testing_util::sample_retention(r.step).size());
    }
    EXPECT_GE(static_cast<int64_t>(s.results.size()), (k.last_reported + 1 + 63) / 64);
    EXPECT_TRUE(s.summary.is_null());
  }
}

}  // namespace
}  // namespace kvwb
