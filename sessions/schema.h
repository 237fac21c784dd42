#pragma once
// The layout of a session database and its versioning. The version lives in
// `PRAGMA user_version` (and, for people reading the file with other tools, in the `meta`
// table); `PRAGMA application_id` marks the file as kvwb's. Opening runs the forward
// migrations an older file needs, in one transaction; a newer file, another application's
// SQLite file or a damaged one is refused with an error naming the file, and left untouched.
// docs/sessions.md describes every table.
#include <cstdint>

#include "sessions/sqlite_db.h"

namespace kvwb {

inline constexpr int kSessionSchemaVersion = 4;
inline constexpr int32_t kSessionApplicationId = 0x6B767762;  // "kvwb"

// Makes `db` ready for the store at kSessionSchemaVersion: creates the tables in an empty file,
// migrates an older one (read-write modes only), checks the rest. A new file, and any file a
// recorder opens (`for_recording`), is switched to WAL mode; writable connections use
// synchronous=NORMAL. Nothing is written to a file that fails the checks.
void prepare_schema(sqlite::Database& db, bool for_recording = false);

// Applies the migrations that take a file from `from_version` up to `to_version`
// (tests use it to build files of older versions).
void apply_migrations(sqlite::Database& db, int from_version, int to_version);

}  // namespace kvwb
