// Export of one session to a standalone file and import into another store: the copy loads
// equal to the original, ids are new, names kept, a second import of the same file is
// detected, the source is never modified, and bad sources are clear errors.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "sessions/schema.h"
#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

using testing_util::ScratchDir;

int64_t record(const std::string& path, const std::string& name, int64_t steps) {
  SessionRecorder recorder(path, testing_util::sample_session(name));
  for (int64_t i = 0; i < steps; ++i) {
    StepStats s = testing_util::sample_step(i);
    if (i % 4 == 0) s.retention = testing_util::sample_retention(i);
    recorder.record_step(std::move(s));
  }
  nlohmann::json changed = testing_util::sample_session().config;
  changed["max_batch"] = 3;
  recorder.record_config_change(steps / 2, changed);
  SessionResult r;
  r.id = "q1";
  r.output_text = name;
  r.output_tokens = {5, 6};
  r.score = 0.5;
  recorder.record_result(r);
  Trace t;
  t.spans.push_back(Span{"step", Category::step, 10, 20, {}, 0, {}});
  t.counters.push_back({"batch_size", 2, 0, 15});
  recorder.record_trace(t);
  EvictionMap m;
  m.request_id = "q1";
  m.context_length = 1;
  m.heads.push_back({0, 0, {3}, {0.25f}});
  recorder.record_eviction_map(m);
  recorder.finish({{"name", name}});
  return recorder.session_id();
}

// Everything but the id must match.
void expect_same_session(const Session& a, const Session& b) {
  EXPECT_EQ(a.info.uid, b.info.uid);
  EXPECT_EQ(a.info.name, b.info.name);
  EXPECT_EQ(a.info.created, b.info.created);
  EXPECT_EQ(a.info.config, b.info.config);
  EXPECT_EQ(a.info.status, b.info.status);
  EXPECT_EQ(a.info.steps, b.info.steps);
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].step, b.steps[i].step);
    EXPECT_EQ(a.steps[i].kv_bytes_used, b.steps[i].kv_bytes_used);
    EXPECT_EQ(a.steps[i].kv_slots_used, b.steps[i].kv_slots_used);
  }
  ASSERT_EQ(a.retention.size(), b.retention.size());
  for (size_t i = 0; i < a.retention.size(); ++i) {
    EXPECT_EQ(a.retention[i].step, b.retention[i].step);
    ASSERT_EQ(a.retention[i].heads.size(), b.retention[i].heads.size());
    EXPECT_EQ(a.retention[i].heads.back().positions, b.retention[i].heads.back().positions);
  }
  ASSERT_EQ(a.config_changes.size(), b.config_changes.size());
  EXPECT_EQ(a.config_changes[0].config, b.config_changes[0].config);
  ASSERT_EQ(a.results.size(), b.results.size());
  EXPECT_EQ(a.results[0].output_text, b.results[0].output_text);
  EXPECT_EQ(a.results[0].output_tokens, b.results[0].output_tokens);
  ASSERT_EQ(a.eviction_maps.size(), b.eviction_maps.size());
  EXPECT_EQ(a.eviction_maps[0].heads[0].evicted_at_step, b.eviction_maps[0].heads[0].evicted_at_step);
  EXPECT_EQ(a.events.spans.size(), b.events.spans.size());
  EXPECT_EQ(a.events.counters.size(), b.events.counters.size());
  EXPECT_EQ(a.summary, b.summary);
}

TEST(SessionTransfer, ExportWritesOneSessionToAStandaloneFile) {
  ScratchDir dir;
  const std::string path = dir.file("main.db");
  record(path, "first", 12);
  const int64_t second = record(path, "second", 9);
  SessionStore store = SessionStore::open(path);
  const std::string out = dir.file("second.db");
  store.export_session(second, out);
  // Standalone: no WAL companion, and it opens read-only with just the one session.
  EXPECT_FALSE(std::filesystem::exists(out + "-wal"));
  SessionStore exported = SessionStore::open(out, sqlite::OpenMode::read_only);
  const std::vector<SessionInfo> sessions = exported.list();
  ASSERT_EQ(sessions.size(), 1u);
  expect_same_session(exported.load(sessions[0].id), store.load(second));
}

TEST(SessionTransfer, ExportNeverOverwrites) {
  ScratchDir dir;
  const std::string path = dir.file("main.db");
  const int64_t id = record(path, "first", 3);
  const std::string out = dir.file("taken.db");
  testing_util::write_bytes(out, "precious");
  SessionStore store = SessionStore::open(path);
  try {
    store.export_session(id, out);
    ADD_FAILURE() << "overwrote " << out;
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(out + ": already exists", 0), 0u) << e.what();
  }
  EXPECT_EQ(testing_util::read_bytes(out), "precious");
}

TEST(SessionTransfer, ImportAddsSessionsWithNewIdsAndDetectsASecondImport) {
  ScratchDir dir;
  const std::string source = dir.file("source.db");
  const int64_t s1 = record(source, "alpha", 6);
  const int64_t s2 = record(source, "beta", 4);
  const std::string target = dir.file("target.db");
  record(target, "local", 5);  // id 1 in the target, so imported ids must differ
  SessionStore store = SessionStore::open(target);
  const std::string source_bytes = testing_util::read_bytes(source);

  const ImportReport first = store.import_from(source);
  ASSERT_EQ(first.imported.size(), 2u);
  EXPECT_TRUE(first.skipped.empty());
  EXPECT_EQ(first.imported[0].name, "alpha");
  EXPECT_EQ(first.imported[0].source_id, s1);
  EXPECT_EQ(first.imported[0].new_id, 2);
  EXPECT_EQ(first.imported[1].new_id, 3);
  EXPECT_EQ(testing_util::read_bytes(source), source_bytes);
  SessionStore source_store = SessionStore::open(source);
  expect_same_session(store.load(2), source_store.load(s1));
  expect_same_session(store.load(3), source_store.load(s2));

  const ImportReport again = store.import_from(source);
  EXPECT_TRUE(again.imported.empty());
  ASSERT_EQ(again.skipped.size(), 2u);
  EXPECT_EQ(again.skipped[0].existing_id, 2);
  EXPECT_EQ(again.skipped[1].existing_id, 3);
  EXPECT_EQ(store.list().size(), 3u);
}

TEST(SessionTransfer, ImportMigratesAnOlderSourceWithoutTouchingIt) {
  ScratchDir dir;
  const std::string source = dir.file("v1.db");
  {
    sqlite::Database db(source, sqlite::OpenMode::create);
    apply_migrations(db, 0, 1);
    db.exec("INSERT INTO sessions (name, created, config, status) VALUES ('v1 run', 'then', '{}', 'finished')");
    db.exec("INSERT INTO steps VALUES (1, 0, 0, 0.5, 2, 2, 0, 10, 0, 2, 0, 0, 0, 0, 4, 60, 64, 4, 1024)");
  }
  const std::string before = testing_util::read_bytes(source);
  SessionStore store = SessionStore::open(dir.file("target.db"));
  const ImportReport report = store.import_from(source);
  ASSERT_EQ(report.imported.size(), 1u);
  EXPECT_EQ(store.info(report.imported[0].new_id).name, "v1 run");
  EXPECT_EQ(store.steps(report.imported[0].new_id).size(), 1u);
  EXPECT_EQ(testing_util::read_bytes(source), before);
  sqlite::Database check(source, sqlite::OpenMode::read_only);
  EXPECT_EQ(check.query_int("PRAGMA user_version"), 1);
}

TEST(SessionTransfer, BadSourcesAreErrorsNamingThemAndChangeNothing) {
  ScratchDir dir;
  const std::string target = dir.file("target.db");
  record(target, "local", 5);
  SessionStore store = SessionStore::open(target);
  const std::string text = dir.file("text.db");
  testing_util::write_bytes(text, std::string(4096, 'z'));
  for (const std::string& bad : {text, dir.file("missing.db"), target}) {
    try {
      store.import_from(bad);
      ADD_FAILURE() << "imported " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(bad + ": ", 0), 0u) << e.what();
    }
  }
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_EQ(store.steps(1).size(), 5u);
}

}  // namespace
}  // namespace kvwb
