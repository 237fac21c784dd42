#include "sessions/session_store.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "engine/core/error.h"
#include "sessions/process_identity.h"
#include "sessions/schema.h"
#include "sessions/session_rows.h"

namespace kvwb {
namespace {

namespace fs = std::filesystem;

constexpr const char* kInfoQuery =
    "SELECT id, uid, name, description, created, model, backend, device, kvwb_version, status, writer_pid, "
    "writer_start, dropped_items, config, (SELECT count(*) FROM steps WHERE steps.session = sessions.id) "
    "FROM sessions";

SessionStatus parse_status(const std::string& text) {
  if (text == "finished") return SessionStatus::finished;
  if (text == "interrupted") return SessionStatus::interrupted;
  return SessionStatus::running;
}

SessionInfo info_from_row(const sqlite::Statement& q, const std::string& path) {
  SessionInfo s;
  s.id = q.int64(0);
  s.uid = q.text(1);
  s.name = q.text(2);
  s.description = q.text(3);
  s.created = q.text(4);
  s.model = q.text(5);
  s.backend = q.text(6);
  s.device = q.text(7);
  s.kvwb_version = q.text(8);
  s.status = parse_status(q.text(9));
  if (s.status == SessionStatus::running && !process_alive({q.int64(10), q.int64(11)})) {
    s.status = SessionStatus::interrupted;  // its recording process died before finishing
  }
  s.dropped_items = q.int64(12);
  s.config = nlohmann::json::parse(q.text(13), nullptr, false);
  if (s.config.is_discarded()) fail(path, "session {}: stored config JSON is malformed", s.id);
  s.steps = q.int64(14);
  return s;
}

}  // namespace

std::string policy_name_of(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("policy")) return "full";
  const nlohmann::json& p = config.at("policy");
  if (p.is_string()) return p.get<std::string>();
  return p.is_object() ? p.value("name", std::string("full")) : "?";
}

std::string_view status_name(SessionStatus status) {
  switch (status) {
    case SessionStatus::running: return "running";
    case SessionStatus::finished: return "finished";
    case SessionStatus::interrupted: return "interrupted";
  }
  return "unknown";
}

std::string default_session_db_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg != '\0') return (fs::path(xdg) / "kvwb" / "sessions.db").string();
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') fail("sessions", "neither XDG_DATA_HOME nor HOME is set: pass --db PATH");
  return (fs::path(home) / ".local" / "share" / "kvwb" / "sessions.db").string();
}

SessionStore SessionStore::open(const std::string& path, sqlite::OpenMode mode, bool for_recording) {
  if (mode == sqlite::OpenMode::create) {
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !fs::exists(parent, ec)) {
      fs::create_directories(parent, ec);
      if (ec) fail(path, "cannot create its directory {}: {}", parent.string(), ec.message());
    }
  }
  if (mode != sqlite::OpenMode::create && !fs::exists(path)) fail(path, "no such session database");
  sqlite::Database db(path, mode);
  prepare_schema(db, for_recording);
  return SessionStore(std::move(db));
}

void SessionStore::require(int64_t id) {
  sqlite::Statement q = db_.prepare("SELECT 1 FROM sessions WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) fail(path(), "no session #{}", id);
}

std::vector<SessionInfo> SessionStore::list() {
  sqlite::Statement q = db_.prepare(std::string(kInfoQuery) + " ORDER BY id");
  std::vector<SessionInfo> out;
  while (q.step()) out.push_back(info_from_row(q, path()));
  return out;
}

SessionInfo SessionStore::info(int64_t id) {
  sqlite::Statement q = db_.prepare(std::string(kInfoQuery) + " WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) fail(path(), "no session #{}", id);
  return info_from_row(q, path());
}

Session SessionStore::load(int64_t id) {
  // One read transaction: a recorder writing meanwhile cannot make the parts disagree.
  db_.exec("BEGIN");
  try {
    Session s;
    s.info = info(id);
    s.config_changes = read_config_changes(db_, id);
    s.steps = read_steps(db_, id);
    s.retention = read_retention(db_, id, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    s.eviction_maps = read_eviction_maps(db_, id);
    s.results = read_results(db_, id);
    s.tokens = read_tokens(db_, id);
    s.summary = summary(id);
    s.events = read_events(db_, id, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    db_.exec("COMMIT");
    return s;
  } catch (...) {
    db_.exec("ROLLBACK");
    throw;
  }
}

std::vector<StepStats> SessionStore::steps(int64_t id, int64_t first_step, int64_t limit) {
  require(id);
  return read_steps(db_, id, first_step, limit);
}

std::vector<int64_t> SessionStore::retention_steps(int64_t id) {
  require(id);
  return read_retention_steps(db_, id);
}

std::vector<RetentionSnapshot> SessionStore::retention(int64_t id, int64_t first_step, int64_t last_step) {
  require(id);
  return read_retention(db_, id, first_step, last_step);
}

std::optional<EvictionMap> SessionStore::eviction_map(int64_t id, const std::string& request_id) {
  require(id);
  return read_eviction_map(db_, id, request_id);
}

SessionEvents SessionStore::events(int64_t id, int64_t start_ns, int64_t end_ns, int64_t limit) {
  require(id);
  return read_events(db_, id, start_ns, end_ns, limit);
}

std::vector<ConfigChange> SessionStore::config_changes(int64_t id) {
  require(id);
  return read_config_changes(db_, id);
}

std::vector<SessionResult> SessionStore::results(int64_t id) {
  require(id);
  return read_results(db_, id);
}

std::vector<RequestTokens> SessionStore::tokens(int64_t id) {
  require(id);
  return read_tokens(db_, id);
}

nlohmann::json SessionStore::summary(int64_t id) {
  sqlite::Statement q = db_.prepare("SELECT summary FROM sessions WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) fail(path(), "no session #{}", id);
  if (q.is_null(0)) return nullptr;
  nlohmann::json j = nlohmann::json::parse(q.text(0), nullptr, false);
  if (j.is_discarded()) fail(path(), "session {}: stored summary JSON is malformed", id);
  return j;
}

void SessionStore::rename(int64_t id, const std::string& name) {
  if (name.empty()) fail(path(), "a session name cannot be empty");
  require(id);
  sqlite::Statement q = db_.prepare("UPDATE sessions SET name = ? WHERE id = ?");
  q.bind(1, name).bind(2, id).run();
}

void SessionStore::annotate(int64_t id, const std::string& description) {
  require(id);
  sqlite::Statement q = db_.prepare("UPDATE sessions SET description = ? WHERE id = ?");
  q.bind(1, description).bind(2, id).run();
}

void SessionStore::remove(int64_t id) {
  require(id);
  sqlite::Transaction tx(db_);
  for (const char* table : {"config_changes", "steps", "results", "counters", "retention", "eviction_maps", "request_tokens",
                            "events", "tracks"}) {
    sqlite::Statement q = db_.prepare(fmt::format("DELETE FROM {} WHERE session = ?", table));
    q.bind(1, id).run();
  }
  sqlite::Statement q = db_.prepare("DELETE FROM sessions WHERE id = ?");
  q.bind(1, id).run();
  tx.commit();
}

}  // namespace kvwb
