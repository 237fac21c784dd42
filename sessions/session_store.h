#pragma once
// The session store: one SQLite file holding many recorded runs (docs/sessions.md).
// Browse (list, load, paged and time-range queries for big sessions), edit (rename, annotate,
// delete), move sessions between files (export one to a standalone .db, import another file's
// sessions). Recording goes through SessionRecorder, which writes with its own connection.
//
// Import rule: every session carries a uid made when it was recorded and kept by export and
// import. Importing a file whose session uid is already in the store skips that session and
// reports it ("already present as #id"), so importing the same file twice adds nothing.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "sessions/session_types.h"
#include "sessions/sqlite_db.h"

namespace kvwb {

// $XDG_DATA_HOME/kvwb/sessions.db, or ~/.local/share/kvwb/sessions.db.
std::string default_session_db_path();

struct ImportReport {
  struct Entry {
    int64_t source_id = 0;
    std::string name;
    int64_t new_id = 0;           // the id in this store (0 when skipped)
    int64_t existing_id = 0;      // when skipped: the session with the same uid already here
  };
  std::vector<Entry> imported;
  std::vector<Entry> skipped;
};

class SessionStore {
 public:
  // Opens (creating file and parent directories when `mode` is create) and brings the schema
  // up to date. Errors name the file: not SQLite, corrupt, newer schema, not writable.
  // `for_recording`: the recorder's connection (puts an existing file in WAL mode).
  static SessionStore open(const std::string& path, sqlite::OpenMode mode = sqlite::OpenMode::create,
                           bool for_recording = false);

  const std::string& path() const { return db_.path(); }

  std::vector<SessionInfo> list();
  SessionInfo info(int64_t id);  // Error "<file>: no session #<id>" when unknown
  // Everything of one session as values.
  Session load(int64_t id);

  // Paged and ranged queries for sessions too big to load at once.
  std::vector<StepStats> steps(int64_t id, int64_t first_step = 0, int64_t limit = -1);
  std::vector<int64_t> retention_steps(int64_t id);
  std::vector<RetentionSnapshot> retention(int64_t id, int64_t first_step, int64_t last_step);
  std::optional<EvictionMap> eviction_map(int64_t id, const std::string& request_id);
  SessionEvents events(int64_t id, int64_t start_ns = std::numeric_limits<int64_t>::min(),
                       int64_t end_ns = std::numeric_limits<int64_t>::max(), int64_t limit = -1);
  std::vector<ConfigChange> config_changes(int64_t id);
  std::vector<SessionResult> results(int64_t id);
  std::vector<RequestTokens> tokens(int64_t id);
  nlohmann::json summary(int64_t id);

  void rename(int64_t id, const std::string& name);
  void annotate(int64_t id, const std::string& description);
  void remove(int64_t id);

  // Writes session `id` to a new standalone database at `out_path` (which must not exist).
  void export_session(int64_t id, const std::string& out_path);
  // Adds the sessions of another session database (see the import rule above); the source is
  // only read (an older-version source is migrated in a temporary copy).
  ImportReport import_from(const std::string& source_path);

  sqlite::Database& database() { return db_; }

 private:
  explicit SessionStore(sqlite::Database db) : db_(std::move(db)) {}
  void require(int64_t id);
  sqlite::Database db_;
};

// Copies session `id` from schema `from` to schema `to` of one connection (ATTACHed files),
// returning its id in `to`. Used by export and import.
int64_t copy_session(sqlite::Database& db, const std::string& from, const std::string& to, int64_t id);

}  // namespace kvwb
