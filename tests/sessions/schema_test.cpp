// Schema versioning: a new file is versioned and in WAL mode; an older file migrates forward
// with its data; a newer, foreign, non-SQLite or corrupt file is refused with an error naming
// the file, and its bytes stay as they were.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "engine/core/error.h"
#include "sessions/schema.h"
#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

using testing_util::ScratchDir;

// Runs `f`, expecting an Error whose message starts with "<path>: " and contains `words`.
template <typename F>
void expect_error(F&& f, const std::string& path, const std::string& words) {
  try {
    f();
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind(path + ": ", 0), 0u) << m;
    EXPECT_NE(m.find(words), std::string::npos) << m;
  }
}

TEST(SessionSchema, ANewFileIsVersionedMarkedAndInWalMode) {
  ScratchDir dir;
  const std::string path = dir.file("new.db");
  { SessionStore::open(path); }
  sqlite::Database db(path, sqlite::OpenMode::read_only);
  EXPECT_EQ(db.query_int("PRAGMA user_version"), kSessionSchemaVersion);
  EXPECT_EQ(db.query_int("PRAGMA application_id"), kSessionApplicationId);
  sqlite::Statement mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
  sqlite::Statement meta = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  ASSERT_TRUE(meta.step());
  EXPECT_EQ(meta.text(0), std::to_string(kSessionSchemaVersion));
}

TEST(SessionSchema, AVersionOneFileMigratesForwardKeepingItsSessions) {
  ScratchDir dir;
  const std::string path = dir.file("v1.db");
  {
    sqlite::Database db(path, sqlite::OpenMode::create);
    apply_migrations(db, 0, 1);
    db.exec("INSERT INTO sessions (name, created, config, status, summary) "
            "VALUES ('old run', '2026-01-01T00:00:00Z', '{\"model\": \"demo\"}', 'finished', '{\"steps\": 3}')");
    db.exec("INSERT INTO steps VALUES (1, 0, 0, 0.5, 2, 2, 0, 10, 0, 2, 0, 0, 0, 0, 4, 60, 64, 4, 1024)");
    EXPECT_EQ(db.query_int("PRAGMA user_version"), 1);
  }
  SessionStore store = SessionStore::open(path);
  EXPECT_EQ(store.database().query_int("PRAGMA user_version"), kSessionSchemaVersion);
  const std::vector<SessionInfo> sessions = store.list();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].name, "old run");
  EXPECT_EQ(sessions[0].status, SessionStatus::finished);
  EXPECT_EQ(sessions[0].uid.size(), 32u);  // version 2 gave it an identity for import
  EXPECT_EQ(sessions[0].steps, 1);
  EXPECT_EQ(store.summary(sessions[0].id)["steps"], 3);
  const std::vector<StepStats> steps = store.steps(sessions[0].id);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].blocks_total, 64);
  EXPECT_EQ(steps[0].kv_bytes_used, 1024);
  // And the new tables work on the migrated file.
  SessionRecorder recorder(path, testing_util::sample_session());
  recorder.record_step(testing_util::sample_step(0));
  recorder.finish(nlohmann::json::object());
  EXPECT_EQ(store.list().size(), 2u);
}

TEST(SessionSchema, ANewerVersionIsRefusedAndLeftUnchanged) {
  ScratchDir dir;
  const std::string path = dir.file("future.db");
  {
    SessionStore store = SessionStore::open(path);
    store.database().exec("PRAGMA journal_mode = DELETE");
    store.database().exec("PRAGMA user_version = 99");
  }
  const std::string before = testing_util::read_bytes(path);
  expect_error([&] { SessionStore::open(path); }, path, "schema version 99 is newer");
  expect_error([&] { SessionStore::open(path, sqlite::OpenMode::read_only); }, path, "newer");
  expect_error([&] { SessionRecorder r(path, testing_util::sample_session()); }, path, "newer");
  EXPECT_EQ(testing_util::read_bytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(SessionSchema, AVersionTwoFileMigratesToTokensAndOpensWithoutThem) {
  ScratchDir dir;
  const std::string path = dir.file("v2.db");
  {
    sqlite::Database db(path, sqlite::OpenMode::create);
    apply_migrations(db, 0, 2);
    db.exec("INSERT INTO sessions (uid, name, created, config, status) "
            "VALUES ('00112233445566778899aabbccddeeff', 'v2 run', '2026-01-01T00:00:00Z', '{}', 'finished')");
    EXPECT_EQ(db.query_int("SELECT count(*) FROM sqlite_schema WHERE name = 'request_tokens'"), 0);
  }
  SessionStore store = SessionStore::open(path);
  EXPECT_EQ(store.database().query_int("PRAGMA user_version"), kSessionSchemaVersion);
  const std::vector<SessionInfo> sessions = store.list();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_TRUE(store.tokens(sessions[0].id).empty());  // an old session: positions without text
  EXPECT_TRUE(store.load(sessions[0].id).tokens.empty());
  // A new recording into the migrated file stores tokens, and they read back.
  RequestTokens t{"r", 2, {7, 8, 9}, {"a", "\n", "\xE2"}};
  {
    SessionRecorder recorder(path, testing_util::sample_session());
    recorder.record_tokens(t);
    recorder.finish(nlohmann::json::object());
  }
  const std::vector<RequestTokens> back = store.tokens(store.list().back().id);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].request_id, "r");
  EXPECT_EQ(back[0].prompt_tokens, 2);
  EXPECT_EQ(back[0].ids, t.ids);
  EXPECT_EQ(back[0].pieces, t.pieces);
}

TEST(SessionSchema, AVersionThreeFileMigratesToTokensPerStepAndOpensWithoutThem) {
  ScratchDir dir;
  const std::string path = dir.file("v3.db");
  {
    sqlite::Database db(path, sqlite::OpenMode::create);
    apply_migrations(db, 0, 3);
    db.exec("INSERT INTO sessions (uid, name, created, config, status) "
            "VALUES ('00112233445566778899aabbccddeeff', 'v3 run', '2026-01-01T00:00:00Z', '{}', 'finished')");
    db.exec("INSERT INTO steps (session, step, start_seconds, wall_seconds, batch_size, running, waiting, "
            "prefill_tokens, decode_tokens, admitted, finished, preemptions, evicted_slots, blocks_freed_by_eviction, "
            "blocks_used, blocks_free, blocks_total, peak_blocks_used, kv_bytes_used) "
            "VALUES (1, 0, 0, 0.5, 2, 2, 0, 10, 0, 2, 0, 0, 0, 0, 4, 60, 64, 4, 1024)");
  }
  SessionStore store = SessionStore::open(path);
  EXPECT_EQ(store.database().query_int("PRAGMA user_version"), kSessionSchemaVersion);
  const int64_t old_id = store.list()[0].id;
  const std::vector<StepStats> old_steps = store.steps(old_id);
  ASSERT_EQ(old_steps.size(), 1u);
  EXPECT_EQ(old_steps[0].kv_bytes_used, 1024);
  EXPECT_EQ(old_steps[0].kv_slots_used, kSlotsNotRecorded);  // bytes only: the tokens are not known
  // A new recording into the migrated file stores its tokens per step, and they read back.
  {
    SessionRecorder recorder(path, testing_util::sample_session());
    recorder.record_step(testing_util::sample_step(3));
    recorder.finish(nlohmann::json::object());
  }
  const std::vector<StepStats> steps = store.steps(store.list().back().id);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kv_slots_used, testing_util::sample_step(3).kv_slots_used);
}

// Found by fuzzing (tests/fuzz/regressions/session_db): a negative user_version reached the
// migration table as an index and escaped as std::out_of_range.
TEST(SessionSchema, ANegativeVersionIsRefusedAndLeftUnchanged) {
  ScratchDir dir;
  const std::string path = dir.file("negative.db");
  {
    SessionStore store = SessionStore::open(path);
    store.database().exec("PRAGMA journal_mode = DELETE");
    store.database().exec("PRAGMA user_version = -1");
  }
  const std::string before = testing_util::read_bytes(path);
  expect_error([&] { SessionStore::open(path); }, path, "schema version -1 is invalid");
  expect_error([&] { SessionStore::open(path, sqlite::OpenMode::read_only); }, path, "invalid");
  expect_error([&] { SessionRecorder r(path, testing_util::sample_session()); }, path, "invalid");
  EXPECT_EQ(testing_util::read_bytes(path), before);
}

TEST(SessionSchema, ANonSqliteFileIsRefusedAndLeftUnchanged) {
  ScratchDir dir;
  const std::string path = dir.file("notes.db");
  const std::string text = "these are my notes, not a database\n" + std::string(5000, 'x');
  testing_util::write_bytes(path, text);
  expect_error([&] { SessionStore::open(path); }, path, "not an SQLite database");
  expect_error([&] { SessionRecorder r(path, testing_util::sample_session()); }, path, "not an SQLite database");
  EXPECT_EQ(testing_util::read_bytes(path), text);
}

TEST(SessionSchema, AnotherApplicationsDatabaseIsRefused) {
  ScratchDir dir;
  const std::string path = dir.file("other.db");
  {
    sqlite::Database db(path, sqlite::OpenMode::create);
    db.exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ada')");
  }
  const std::string before = testing_util::read_bytes(path);
  expect_error([&] { SessionStore::open(path); }, path, "another application");
  EXPECT_EQ(testing_util::read_bytes(path), before);
}

TEST(SessionSchema, ACorruptFileGivesAnErrorNamingIt) {
  ScratchDir dir;
  const std::string path = dir.file("corrupt.db");
  {
    SessionRecorder recorder(path, testing_util::sample_session());
    for (int64_t i = 0; i < 2000; ++i) recorder.record_step(testing_util::sample_step(i));
    recorder.finish(nlohmann::json::object());
  }
  {  // fold the WAL into the file so the damage below hits the data pages
    sqlite::Database db(path, sqlite::OpenMode::read_write);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE");
  }
  std::string bytes = testing_util::read_bytes(path);
  ASSERT_GT(bytes.size(), 8 * 4096u);
  for (size_t i = 2 * 4096; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(0xA5);  // scribble on every page but the first
  testing_util::write_bytes(path, bytes);
  expect_error(
      [&] {
        SessionStore store = SessionStore::open(path);
        for (const SessionInfo& s : store.list()) store.load(s.id);
      },
      path, "corrupt");
  EXPECT_EQ(testing_util::read_bytes(path), bytes);
}

TEST(SessionSchema, ATruncatedFileGivesAnErrorNamingIt) {
  ScratchDir dir;
  const std::string path = dir.file("cut.db");
  {
    SessionRecorder recorder(path, testing_util::sample_session());
    for (int64_t i = 0; i < 2000; ++i) recorder.record_step(testing_util::sample_step(i));
    recorder.finish(nlohmann::json::object());
  }
  {
    sqlite::Database db(path, sqlite::OpenMode::read_write);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE");
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  expect_error(
      [&] {
        SessionStore store = SessionStore::open(path);
        for (const SessionInfo& s : store.list()) store.load(s.id);
      },
      path, "corrupt");
}

}  // namespace
}  // namespace kvwb
