#pragma once
// A thin RAII layer over the SQLite C API for the session store: one connection, prepared
// statements, transactions. Every failure is a kvwb::Error that names the database file first
// and says in plain words what went wrong ("not an SQLite database", "is corrupt", ...).
// A connection belongs to one thread at a time (the recorder's writer has its own).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace kvwb::sqlite {

enum class OpenMode {
  create,      // read-write, creating the file when missing
  read_write,  // read-write, the file must exist
  read_only,   // never writes (list, show, export of a config)
};

class Statement;

class Database {
 public:
  Database(const std::string& path, OpenMode mode);
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  int64_t last_insert_rowid() const;
  int64_t changes() const;
  // A single integer from a query that returns one row ("PRAGMA user_version").
  int64_t query_int(std::string_view sql);

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  sqlite3* handle() const { return db_; }

  // Throws Error("<path>: <plain words for rc>: <sqlite's message>").
  [[noreturn]] void fail_with(int rc, std::string_view doing) const;

 private:
  void close();
  std::string path_;
  sqlite3* db_ = nullptr;
  bool read_only_ = false;
};

class Statement {
 public:
  Statement(Database& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in SQL.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::span<const uint8_t> bytes);
  Statement& bind_null(int index);

  // Advances: true when a row is ready, false when done.
  bool step();
  // Runs a statement that returns no rows, then resets it for reuse.
  void run();
  void reset();

  // Columns are numbered from 0.
  bool is_null(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::vector<uint8_t> blob(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace kvwb::sqlite
