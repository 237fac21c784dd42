// SessionRecorder: batched commits (a reader never sees half a batch), the flush interval,
// the full-queue rule (per-step items dropped after a short wait and counted, rare items
// waiting), write errors surfacing at finish() without losing committed rows, and the status
// a session ends with.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/core/error.h"
#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

using namespace std::chrono_literals;
using testing_util::sample_step;
using testing_util::ScratchDir;

int64_t count_rows(const std::string& path, const char* table) {
  sqlite::Database db(path, sqlite::OpenMode::read_only);
  return db.query_int(fmt::format("SELECT count(*) FROM {}", table));
}

// Polls `done` for up to 10 s.
template <typename F>
bool eventually(F&& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(SessionRecorder, CommitsWhenABatchFillsAndHoldsAPartialOne) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  RecorderOptions options;
  options.batch_items = 10;
  options.flush_interval = std::chrono::hours(1);
  SessionRecorder recorder(path, testing_util::sample_session(), options);
  for (int64_t i = 0; i < 10; ++i) ASSERT_TRUE(recorder.record_step(sample_step(i)));
  ASSERT_TRUE(eventually([&] { return count_rows(path, "steps") == 10; }));
  for (int64_t i = 10; i < 15; ++i) ASSERT_TRUE(recorder.record_step(sample_step(i)));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(count_rows(path, "steps"), 10);  // 5 queued: less than a batch, the interval is an hour
  EXPECT_EQ(recorder.committed_items(), 10);
  recorder.flush();
  EXPECT_EQ(count_rows(path, "steps"), 15);
  recorder.finish(nlohmann::json::object());
}

TEST(SessionRecorder, TheFlushIntervalCommitsASmallQueue) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  RecorderOptions options;
  options.batch_items = 1000;
  options.flush_interval = 50ms;
  SessionRecorder recorder(path, testing_util::sample_session(), options);
  // Let the writer go to sleep on its empty queue first: the items below must wake it (a
  // writer that was only woken by full batches left a small queue uncommitted forever).
  std::this_thread::sleep_for(200ms);
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(recorder.record_step(sample_step(i)));
  // Nothing but the interval commits three items of a 1000-item batch. The deadline is long
  // (a loaded machine may hold the writer for seconds) and counts the recorder's own commits,
  // so no reader connection competes with the writer for the file.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (recorder.committed_items() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(recorder.committed_items(), 3);
  EXPECT_EQ(count_rows(path, "steps"), 3);
  recorder.finish(nlohmann::json::object());
}

TEST(SessionRecorder, AFullQueueDropsStepItemsAfterAShortWaitAndCountsThem) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  RecorderOptions options;
  options.queue_capacity = 8;
  options.batch_items = 4;
  options.enqueue_wait = 1ms;
  SessionRecorder recorder(path, testing_util::sample_session(), options);

  // Another process-like connection holds the write lock: the writer stalls, the queue fills.
  sqlite::Database blocker(path, sqlite::OpenMode::read_write);
  blocker.exec("BEGIN IMMEDIATE");
  std::vector<int64_t> accepted;
  auto slowest = std::chrono::nanoseconds(0);
  for (int64_t i = 0; i < 200; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (recorder.record_step(sample_step(i))) accepted.push_back(i);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
  }
  const int64_t dropped = 200 - static_cast<int64_t>(accepted.size());
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(recorder.dropped(), dropped);
  EXPECT_LE(static_cast<int64_t>(accepted.size()), 16);  // at most a batch in flight plus a full queue
  EXPECT_LT(slowest, 100ms) << "the engine thread was held up";

  // A result must not be dropped: it waits for room instead.
  SessionResult result;
  result.id = "kept";
  auto pending = std::async(std::launch::async, [&] { return recorder.record_result(result); });
  EXPECT_EQ(pending.wait_for(200ms), std::future_status::timeout);
  blocker.exec("COMMIT");
  EXPECT_TRUE(pending.get());
  recorder.finish(nlohmann::json::object());

  SessionStore store = SessionStore::open(path);
  const Session s = store.load(recorder.session_id());
  ASSERT_EQ(s.steps.size(), accepted.size());
  for (size_t k = 0; k < accepted.size(); ++k) EXPECT_EQ(s.steps[k].step, accepted[k]);
  ASSERT_EQ(s.results.size(), 1u);
  EXPECT_EQ(s.info.dropped_items, dropped);
}

TEST(SessionRecorder, AWriteErrorSurfacesAtFinishAndKeepsWhatWasCommitted) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  SessionRecorder recorder(path, testing_util::sample_session());
  for (int64_t i = 0; i < 10; ++i) recorder.record_step(sample_step(i));
  recorder.flush();
  {
    sqlite::Database other(path, sqlite::OpenMode::read_write);
    other.exec("DROP TABLE counters");  // the next batch with a counter cannot be written
  }
  recorder.record_counter({"batch_size", 1, 10, 5});
  recorder.flush();
  ASSERT_TRUE(recorder.error().has_value());
  EXPECT_EQ(recorder.error()->rfind(path + ": ", 0), 0u) << *recorder.error();
  EXPECT_FALSE(recorder.record_step(sample_step(11)));
  try {
    recorder.finish(nlohmann::json::object());
    ADD_FAILURE() << "finish() hid the write error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("counters"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_rows(path, "steps"), 10);
}

TEST(SessionRecorder, FinishMarksFinishedAndStoppingEarlyMarksInterrupted) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  int64_t finished_id = 0, stopped_id = 0;
  {
    SessionRecorder recorder(path, testing_util::sample_session("done"));
    recorder.record_step(sample_step(0));
    recorder.finish({{"steps", 1}});
    EXPECT_THROW(recorder.finish(nlohmann::json::object()), Error);
    finished_id = recorder.session_id();
  }
  {
    SessionRecorder recorder(path, testing_util::sample_session("stopped"));
    for (int64_t i = 0; i < 7; ++i) recorder.record_step(sample_step(i));
    stopped_id = recorder.session_id();
  }  // destroyed without finish(): queued items are committed, status interrupted
  SessionStore store = SessionStore::open(path);
  EXPECT_EQ(store.info(finished_id).status, SessionStatus::finished);
  EXPECT_EQ(store.summary(finished_id)["steps"], 1);
  EXPECT_EQ(store.info(stopped_id).status, SessionStatus::interrupted);
  EXPECT_EQ(store.steps(stopped_id).size(), 7u);
  EXPECT_TRUE(store.summary(stopped_id).is_null());
}

TEST(SessionRecorder, WhileRecordingTheSessionReadsRunning) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  SessionRecorder recorder(path, testing_util::sample_session());
  recorder.record_step(sample_step(0));
  recorder.flush();
  SessionStore store = SessionStore::open(path);
  EXPECT_EQ(store.info(recorder.session_id()).status, SessionStatus::running);
  EXPECT_EQ(store.steps(recorder.session_id()).size(), 1u);  // readable while the writer is live
  recorder.finish(nlohmann::json::object());
  EXPECT_EQ(store.info(recorder.session_id()).status, SessionStatus::finished);
}

TEST(SessionRecorder, AnUnwritableLocationFailsBeforeTheRun) {
  ScratchDir dir;
  // chmod does not stop root, so use a path under /proc, which nobody can create files in.
  const bool root = ::geteuid() == 0;
  const std::string path = root ? "/proc/kvwb-no-such-dir/sessions.db" : dir.file("locked/sessions.db");
  if (!root) {
    std::filesystem::create_directories(dir.path() / "locked");
    std::filesystem::permissions(dir.path() / "locked", std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_exec);
  }
  try {
    SessionRecorder recorder(path, testing_util::sample_session());
    ADD_FAILURE() << "recorded into " << path;
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

TEST(SessionRecorder, AReadOnlyExistingStoreRefusesToRecordAndKeepsItsSessions) {
  ScratchDir dir;
  const std::string path = dir.file("s.db");
  {
    SessionRecorder recorder(path, testing_util::sample_session("kept"));
    recorder.record_step(sample_step(0));
    recorder.finish(nlohmann::json::object());
  }
  // Read-only for everyone: the file and its directory lose their write bits.
  namespace fs = std::filesystem;
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  auto try_to_record = [&]() -> std::string {
    try {
      SessionRecorder recorder(path, testing_util::sample_session("new"));
      return "recorded into a read-only store";
    } catch (const Error& e) {
      return std::string(e.what()).rfind(path + ": ", 0) == 0 ? "" : std::string("wrong message: ") + e.what();
    }
  };
  if (::geteuid() != 0) {
    EXPECT_EQ(try_to_record(), "");
  } else {
    // Root ignores permission bits: try from a child that dropped to the unprivileged `nobody`.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      const bool dropped = ::setgid(65534) == 0 && ::setuid(65534) == 0;
      ::_exit(!dropped ? 2 : try_to_record().empty() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the child recorded or gave the wrong message; 2: could not drop root";
  }
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  SessionStore store = SessionStore::open(path);
  ASSERT_EQ(store.list().size(), 1u);
  EXPECT_EQ(store.list()[0].name, "kept");
}

}  // namespace
}  // namespace kvwb
