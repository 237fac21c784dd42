// The session store when the disk fills up mid-recording. A real child process records steps,
// then lowers its file-size limit (RLIMIT_FSIZE: every file it writes is size-limited from then
// on, as on a full disk: writes come back short) and keeps recording. The recorder must report
// an error naming the file, finish() must throw it, and the parent must find every step that
// was committed before the fault, whole and in order, in a database that passes SQLite's
// integrity check. (Read-only locations, a write error mid-run and SIGKILL mid-burst are in
// tests/sessions/recorder_test.cpp and kill_test.cpp.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "engine/core/error.h"
#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "tests/sessions/session_test_util.h"

namespace kvwb {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kBatch = 16;

uintmax_t size_or_zero(const std::string& path) {
  std::error_code ec;
  const uintmax_t n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

// Child exit codes.
enum : int { kSawTheError = 0, kNeverFailed = 3, kWrongMessage = 4, kFinishHidTheError = 5, kThrew = 6 };

[[noreturn]] void record_until_the_disk_is_full(const std::string& path, int report_fd) {
  try {
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails instead of killing
    RecorderOptions options;
    options.batch_items = kBatch;
    options.flush_interval = std::chrono::hours(1);
    options.queue_capacity = 1 << 16;
    SessionRecorder recorder(path, testing_util::sample_session("full disk"), options);
    int64_t i = 0;
    auto burst = [&] {
      for (int64_t k = 0; k < kBatch; ++k, ++i) {
        StepStats s = testing_util::sample_step(i);
        s.retention = testing_util::sample_retention(i);
        recorder.record_step(std::move(s));
      }
      recorder.flush();
      if (!recorder.error()) {
        const int64_t last = i - 1;
        if (::write(report_fd, &last, sizeof last) != sizeof last) ::_exit(kThrew);
      }
    };
    for (int b = 0; b < 4; ++b) burst();
    // From here on no file of this process may grow more than 64 KiB past the largest now.
    const uintmax_t largest = std::max({size_or_zero(path), size_or_zero(path + "-wal"), size_or_zero(path + "-shm")});
    const rlimit limit{static_cast<rlim_t>(largest + 64 * 1024), static_cast<rlim_t>(largest + 64 * 1024)};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(kThrew);
    for (int b = 0; b < 400 && !recorder.error(); ++b) burst();
    if (!recorder.error()) ::_exit(kNeverFailed);
    const std::string message = *recorder.error();  // error() returns a copy
    if (message.rfind(path + ": ", 0) != 0 || message.find("full") == std::string::npos) ::_exit(kWrongMessage);
    std::fprintf(stderr, "recorder error: %s\n", message.c_str());
    try {
      recorder.finish(nlohmann::json::object());
      ::_exit(kFinishHidTheError);
    } catch (const Error&) {
    }
    ::_exit(kSawTheError);
  } catch (...) {
    ::_exit(kThrew);
  }
}

TEST(SessionFaults, AFullDiskMidRecordingIsAnErrorNamingTheFileAndKeepsEveryCommittedStep) {
  testing_util::ScratchDir dir;
  const std::string path = dir.file("full.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    record_until_the_disk_is_full(path, fds[1]);
  }
  ::close(fds[1]);
  int64_t last_committed = -1, step = 0;
  while (::read(fds[0], &step, sizeof step) == sizeof step) last_committed = step;
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of a signal";
  ASSERT_EQ(WEXITSTATUS(status), kSawTheError)
      << "3: the limit never caused an error, 4: the error did not name the file and say full, 5: finish() hid it, 6: threw";
  ASSERT_GE(last_committed, 4 * kBatch - 1);

  SessionStore store = SessionStore::open(path);
  EXPECT_EQ(store.database().query_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
  const std::vector<SessionInfo> sessions = store.list();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].status, SessionStatus::interrupted);
  const Session s = store.load(sessions[0].id);
  const auto n = static_cast<int64_t>(s.steps.size());
  EXPECT_GE(n, last_committed + 1) << "a step committed before the disk filled was lost";
  EXPECT_EQ(n % kBatch, 0) << "batches are whole";
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(s.steps[i].step, i);
    EXPECT_EQ(s.steps[i].kv_bytes_used, testing_util::sample_step(i).kv_bytes_used);
  }
  ASSERT_EQ(static_cast<int64_t>(s.retention.size()), n) << "each step's snapshot committed with it";
}

}  // namespace
}  // namespace kvwb
