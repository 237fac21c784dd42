#include "sessions/sqlite_db.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/core/error.h"

namespace kvwb::sqlite {
namespace {

// What a user can act on, for the result codes a damaged or misplaced file produces.
const char* plain_words(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB: return "not an SQLite database";
    case SQLITE_CORRUPT: return "the database file is corrupt";
    case SQLITE_CANTOPEN: return "cannot open the database file (does the directory exist and is it writable?)";
    case SQLITE_READONLY: return "the database is read-only here";
    case SQLITE_PERM: return "permission denied";
    case SQLITE_BUSY: return "the database is locked by another process";
    case SQLITE_LOCKED: return "the database is locked";
    case SQLITE_FULL: return "the disk is full";
    case SQLITE_IOERR: return "an I/O error occurred";
    default: return "SQLite error";
  }
}

}  // namespace

Database::Database(const std::string& path, OpenMode mode) : path_(path), read_only_(mode == OpenMode::read_only) {
  int flags = SQLITE_OPEN_NOMUTEX;  // one thread per connection: the recorder's writer has its own
  switch (mode) {
    case OpenMode::create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case OpenMode::read_write: flags |= SQLITE_OPEN_READWRITE; break;
    case OpenMode::read_only: flags |= SQLITE_OPEN_READONLY; break;
  }
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    fail(path, "{}: {}", plain_words(rc), message);
  }
  sqlite3_extended_result_codes(db_, 1);
  // Readers and the recorder's writer share the file: wait for a lock rather than fail at once.
  sqlite3_busy_timeout(db_, 10000);
}

Database::~Database() { close(); }

Database::Database(Database&& other) noexcept
    : path_(std::move(other.path_)), db_(std::exchange(other.db_, nullptr)), read_only_(other.read_only_) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    db_ = std::exchange(other.db_, nullptr);
    read_only_ = other.read_only_;
  }
  return *this;
}

void Database::close() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void Database::fail_with(int rc, std::string_view doing) const {
  std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string words = plain_words(rc);
  // File-system errors: say which. A write that hit a full disk, a quota or the file-size
  // limit comes back from SQLite as a generic I/O error unless the OS said ENOSPC.
  const int os_error = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
  const int primary = rc & 0xff;
  if (os_error != 0 && (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN ||
                        primary == SQLITE_READONLY || primary == SQLITE_PERM)) {
    message += fmt::format(": {}", std::strerror(os_error));
    if (primary == SQLITE_IOERR && (os_error == ENOSPC || os_error == EFBIG || os_error == EDQUOT)) {
      words = "the disk is full or the file reached its size limit";
    }
  }
  fail(path_, "{} ({}: {})", words, doing, message);
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) fail_with(rc, text.substr(0, 40));
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) fail_with(rc, std::string(sql.substr(0, 40)));
  return Statement(*this, stmt);
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int64_t Database::changes() const { return sqlite3_changes64(db_); }

int64_t Database::query_int(std::string_view sql) {
  Statement s = prepare(sql);
  if (!s.step()) fail(path_, "no result from '{}'", sql);
  return s.int64(0);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const uint8_t> bytes) {
  // A zero-length blob still binds a (non-NULL) blob: pass a valid pointer.
  static const uint8_t empty = 0;
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &empty : bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  db_->fail_with(rc, std::string_view(sql != nullptr ? sql : "").substr(0, 40));
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p != nullptr ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::vector<uint8_t> Statement::blob(int column) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p != nullptr ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace kvwb::sqlite
