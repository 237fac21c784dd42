// Export of one session to a standalone file and import of another file's sessions: both copy
// rows between two ATTACHed databases of one connection, in one transaction.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <system_error>

#include "engine/core/error.h"
#include "sessions/schema.h"
#include "sessions/session_rows.h"
#include "sessions/session_store.h"

namespace kvwb {
namespace {

namespace fs = std::filesystem;

// Every per-session table with its columns other than `session` (keep in step with schema.cpp;
// the export/import round-trip test compares whole sessions, so a missing column shows there).
struct TableColumns {
  const char* table;
  const char* columns;
  const char* order;
};

constexpr TableColumns kTables[] = {
    {"config_changes", "step, config", "step, rowid"},
    {"steps", kStepColumns, "step"},
    {"results",
     "request_id, task, metric, prompt_tokens, output_text, output_tokens, score, latency_seconds, "
     "first_token_seconds, preemptions, stopped_at_eos",
     "request_id"},
    {"counters", "name, step, time_ns, value", "rowid"},
    {"retention", "step, data", "step"},
    {"eviction_maps", "request_id, step, data", "request_id"},
    {"request_tokens", "request_id, data", "request_id"},
    {"events", "kind, name, category, start_ns, end_ns, track_kind, track_device, track_id, step, args", "id"},
    {"tracks", "track_kind, track_device, track_id, name", "track_kind, track_device, track_id"},
};

constexpr const char* kSessionColumns =
    "uid, name, description, created, model, backend, device, kvwb_version, config, status, summary, writer_pid, "
    "writer_start, dropped_items";

// A file removed (with its WAL companions) when this goes out of scope.
class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    path_ = (fs::temp_directory_path() /
             fmt::format("kvwb-import-{}-{}.db", ::getpid(), counter.fetch_add(1)))
                .string();
  }
  ~TempDb() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void attach(sqlite::Database& db, const std::string& file, const char* alias) {
  sqlite::Statement q = db.prepare(fmt::format("ATTACH DATABASE ? AS {}", alias));
  q.bind(1, file).run();
}

// Detaches on scope exit, also when the copy failed.
struct Detach {
  sqlite::Database& db;
  const char* alias;
  ~Detach() {
    try {
      db.exec(fmt::format("DETACH DATABASE {}", alias));
    } catch (const Error&) {
    }
  }
};

}  // namespace

int64_t copy_session(sqlite::Database& db, const std::string& from, const std::string& to, int64_t id) {
  sqlite::Statement s = db.prepare(fmt::format("INSERT INTO {0}.sessions ({1}) SELECT {1} FROM {2}.sessions WHERE id = ?",
                                               to, kSessionColumns, from));
  s.bind(1, id).run();
  const int64_t new_id = db.last_insert_rowid();
  for (const TableColumns& t : kTables) {
    sqlite::Statement q = db.prepare(fmt::format("INSERT INTO {0}.{1} (session, {2}) SELECT ?, {2} FROM {3}.{1} "
                                                 "WHERE session = ? ORDER BY {4}",
                                                 to, t.table, t.columns, from, t.order));
    q.bind(1, new_id).bind(2, id).run();
  }
  return new_id;
}

void SessionStore::export_session(int64_t id, const std::string& out_path) {
  require(id);
  if (fs::exists(out_path)) fail(out_path, "already exists (export never overwrites: choose a new file name)");
  {
    SessionStore fresh = SessionStore::open(out_path, sqlite::OpenMode::create);
    sqlite::Database& out = fresh.database();
    attach(out, path(), "src");
    {
      Detach detach{out, "src"};
      sqlite::Transaction tx(out);
      copy_session(out, "src", "main", id);
      tx.commit();
    }
    // A standalone file: fold the WAL back in so the .db alone carries everything.
    out.exec("PRAGMA journal_mode = DELETE");
  }
}

ImportReport SessionStore::import_from(const std::string& source_path) {
  if (!fs::exists(source_path)) fail(source_path, "no such session database");
  std::error_code ec;
  if (fs::equivalent(source_path, path(), ec)) fail(source_path, "is this store itself; nothing to import");

  std::string attach_path = source_path;
  TempDb migrated;
  {
    sqlite::Database source(source_path, sqlite::OpenMode::read_only);
    const int64_t app_id = source.query_int("PRAGMA application_id");
    const int64_t version = source.query_int("PRAGMA user_version");
    if (app_id == kSessionApplicationId && version >= 1 && version < kSessionSchemaVersion) {
      // Migrate a snapshot, never the user's source file.
      sqlite::Statement q = source.prepare("VACUUM INTO ?");
      q.bind(1, migrated.path()).run();
      SessionStore::open(migrated.path(), sqlite::OpenMode::read_write);
      attach_path = migrated.path();
    } else {
      prepare_schema(source);  // read-only: throws for anything but a current session store
    }
  }

  ImportReport report;
  attach(db_, attach_path, "src");
  Detach detach{db_, "src"};
  sqlite::Transaction tx(db_);
  sqlite::Statement sources = db_.prepare("SELECT id, uid, name FROM src.sessions ORDER BY id");
  sqlite::Statement existing = db_.prepare("SELECT id FROM main.sessions WHERE uid = ?");
  while (sources.step()) {
    ImportReport::Entry e;
    e.source_id = sources.int64(0);
    const std::string uid = sources.text(1);
    e.name = sources.text(2);
    existing.bind(1, uid);
    if (existing.step()) {
      e.existing_id = existing.int64(0);
      report.skipped.push_back(e);
    } else {
      e.new_id = copy_session(db_, "src", "main", e.source_id);
      report.imported.push_back(e);
    }
    existing.reset();
  }
  tx.commit();
  return report;
}

}  // namespace kvwb
