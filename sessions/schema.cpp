#include "sessions/schema.h"

#include <fmt/format.h>

#include <array>

#include "engine/core/error.h"

namespace kvwb {
namespace {

// migrations[v] takes a file from version v to v + 1. Never edit one that has shipped: add
// the next. Version 1 was the first recorder's layout (sessions, config changes, steps,
// results); version 2 added identity for import, the writer's process (to tell interrupted
// runs), dropped-item counts, step timings and per-head evictions, counters, retention,
// eviction maps and profiler events; version 3 added each request's tokens and their text;
// version 4 added each step's cached tokens (kv_slots_used, NULL in older steps).
constexpr std::array<const char*, kSessionSchemaVersion> kMigrations = {
    // 0 -> 1
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  backend TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  kvwb_version TEXT NOT NULL DEFAULT '',
  config TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
  summary TEXT
);
CREATE TABLE config_changes (
  session INTEGER NOT NULL,
  step INTEGER NOT NULL,
  config TEXT NOT NULL
);
CREATE INDEX config_changes_by_session ON config_changes (session, step);
CREATE TABLE steps (
  session INTEGER NOT NULL,
  step INTEGER NOT NULL,
  start_seconds REAL NOT NULL,
  wall_seconds REAL NOT NULL,
  batch_size INTEGER NOT NULL,
  running INTEGER NOT NULL,
  waiting INTEGER NOT NULL,
  prefill_tokens INTEGER NOT NULL,
  decode_tokens INTEGER NOT NULL,
  admitted INTEGER NOT NULL,
  finished INTEGER NOT NULL,
  preemptions INTEGER NOT NULL,
  evicted_slots INTEGER NOT NULL,
  blocks_freed_by_eviction INTEGER NOT NULL,
  blocks_used INTEGER NOT NULL,
  blocks_free INTEGER NOT NULL,
  blocks_total INTEGER NOT NULL,
  peak_blocks_used INTEGER NOT NULL,
  kv_bytes_used INTEGER NOT NULL,
  PRIMARY KEY (session, step)
) WITHOUT ROWID;
CREATE TABLE results (
  session INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  task TEXT NOT NULL DEFAULT '',
  metric TEXT NOT NULL DEFAULT '',
  prompt_tokens INTEGER NOT NULL,
  output_text TEXT NOT NULL,
  output_tokens BLOB NOT NULL,
  score REAL,
  latency_seconds REAL NOT NULL,
  first_token_seconds REAL NOT NULL,
  preemptions INTEGER NOT NULL,
  stopped_at_eos INTEGER NOT NULL,
  PRIMARY KEY (session, request_id)
);
)sql",
    // 1 -> 2
    R"sql(
ALTER TABLE sessions ADD COLUMN uid TEXT;
UPDATE sessions SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
CREATE UNIQUE INDEX sessions_by_uid ON sessions (uid);
ALTER TABLE sessions ADD COLUMN writer_pid INTEGER;
ALTER TABLE sessions ADD COLUMN writer_start INTEGER;
ALTER TABLE sessions ADD COLUMN dropped_items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN forward_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN eviction_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN evictions_per_head BLOB;
CREATE TABLE counters (
  session INTEGER NOT NULL,
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  value REAL NOT NULL
);
CREATE INDEX counters_by_session ON counters (session, name, time_ns);
CREATE TABLE retention (
  session INTEGER NOT NULL,
  step INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (session, step)
) WITHOUT ROWID;
CREATE TABLE eviction_maps (
  session INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  step INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (session, request_id)
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  session INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('span', 'instant')),
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  track_kind INTEGER NOT NULL,
  track_device INTEGER NOT NULL,
  track_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  args TEXT
);
CREATE INDEX events_by_time ON events (session, start_ns);
CREATE TABLE tracks (
  session INTEGER NOT NULL,
  track_kind INTEGER NOT NULL,
  track_device INTEGER NOT NULL,
  track_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (session, track_kind, track_device, track_id)
);
)sql",
    // 2 -> 3
    R"sql(
CREATE TABLE request_tokens (
  session INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (session, request_id)
);
)sql",
    // 3 -> 4
    R"sql(
ALTER TABLE steps ADD COLUMN kv_slots_used INTEGER;
)sql",
};

int64_t table_count(sqlite::Database& db) { return db.query_int("SELECT count(*) FROM sqlite_schema"); }

void write_meta(sqlite::Database& db, int version) {
  sqlite::Statement s = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  s.bind(1, std::string_view("format")).bind(2, std::string_view("kvwb sessions")).run();
  s.bind(1, std::string_view("schema_version")).bind(2, std::to_string(version)).run();
}

// Inside a transaction the caller holds.
void migrate(sqlite::Database& db, int from_version, int to_version) {
  for (int v = from_version; v < to_version; ++v) db.exec(kMigrations.at(static_cast<size_t>(v)));
  write_meta(db, to_version);
  db.exec(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}", kSessionApplicationId, to_version));
}

}  // namespace

void apply_migrations(sqlite::Database& db, int from_version, int to_version) {
  sqlite::Transaction tx(db);
  migrate(db, from_version, to_version);
  tx.commit();
}

void prepare_schema(sqlite::Database& db, bool for_recording) {
  // Reading the header first: a file that is not SQLite fails here, before anything is written.
  const int64_t app_id = db.query_int("PRAGMA application_id");
  const int64_t version = db.query_int("PRAGMA user_version");
  const bool empty = table_count(db) == 0 && app_id == 0 && version == 0;

  if (!empty && app_id != kSessionApplicationId) {
    fail(db.path(), "an SQLite database of another application, not a kvwb session store (left unchanged)");
  }
  if (version < 0) {  // found by fuzzing (tests/fuzz/regressions/session_db): migrate() indexed with it
    fail(db.path(), "session schema version {} is invalid (a damaged header; the file was left unchanged)", version);
  }
  if (version > kSessionSchemaVersion) {
    fail(db.path(), "session schema version {} is newer than this kvwb understands ({}); use a newer kvwb "
                    "(the file was left unchanged)", version, kSessionSchemaVersion);
  }
  if (db.read_only()) {
    if (empty) fail(db.path(), "an empty database, not a kvwb session store");
    if (version < kSessionSchemaVersion) {
      fail(db.path(), "session schema version {} needs migrating to {}; open it once for writing", version,
           kSessionSchemaVersion);
    }
    return;
  }
  // WAL: readers never block the recorder and a killed writer loses only its open transaction.
  // Files opened to browse keep their mode, so a damaged one is not written to before the
  // damage shows.
  if (empty || for_recording) db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  if (version < kSessionSchemaVersion) {
    sqlite::Transaction tx(db);
    // Another process may have created or migrated the file since the check above.
    const int64_t now = db.query_int("PRAGMA user_version");
    if (now < kSessionSchemaVersion) migrate(db, static_cast<int>(now), kSessionSchemaVersion);
    tx.commit();
  }
}

}  // namespace kvwb
