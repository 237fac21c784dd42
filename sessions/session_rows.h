#pragma once
// The SQL of each kind of row a session holds: a writer with prepared inserts (the recorder
// keeps one per connection) and readers that return values. Both sides of every column
// mapping live here, so a schema change touches one file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sessions/session_types.h"
#include "sessions/sqlite_db.h"

namespace kvwb {

// The steps table's columns, in the order RowWriter binds them and read_steps reads them
// (session_transfer copies the same list).
inline constexpr const char* kStepColumns =
    "step, start_seconds, wall_seconds, batch_size, running, waiting, prefill_tokens, decode_tokens, admitted, "
    "finished, preemptions, evicted_slots, blocks_freed_by_eviction, blocks_used, blocks_free, blocks_total, "
    "peak_blocks_used, kv_bytes_used, forward_seconds, eviction_seconds, evictions_per_head, kv_slots_used";

class RowWriter {
 public:
  explicit RowWriter(sqlite::Database& db);

  void step(int64_t session, const StepStats& stats);  // also its retention, when it has one
  void retention(int64_t session, int64_t step, const std::vector<HeadRetention>& heads);
  void config_change(int64_t session, const ConfigChange& change);
  void result(int64_t session, const SessionResult& result);
  void eviction_map(int64_t session, const EvictionMap& map);
  void tokens(int64_t session, const RequestTokens& tokens);
  void counter(int64_t session, const Counter& counter);
  void span(int64_t session, const Span& span);
  void instant(int64_t session, const Instant& instant);
  void track(int64_t session, const TrackName& track);

 private:
  sqlite::Statement step_, retention_, change_, result_, eviction_, tokens_, counter_, event_, track_;
};

// Steps with step >= first_step, in order, at most `limit` (< 0 = all). Without retention.
std::vector<StepStats> read_steps(sqlite::Database& db, int64_t session, int64_t first_step = 0, int64_t limit = -1);
std::vector<ConfigChange> read_config_changes(sqlite::Database& db, int64_t session);
std::vector<SessionResult> read_results(sqlite::Database& db, int64_t session);
// Snapshot steps recorded, in order.
std::vector<int64_t> read_retention_steps(sqlite::Database& db, int64_t session);
// Snapshots with first_step <= step <= last_step, in order.
std::vector<RetentionSnapshot> read_retention(sqlite::Database& db, int64_t session, int64_t first_step,
                                              int64_t last_step);
std::vector<EvictionMap> read_eviction_maps(sqlite::Database& db, int64_t session);
std::optional<EvictionMap> read_eviction_map(sqlite::Database& db, int64_t session, const std::string& request_id);
// Every request's tokens, by request id (none in files from before schema version 3).
std::vector<RequestTokens> read_tokens(sqlite::Database& db, int64_t session);
// Spans and instants starting in [start_ns, end_ns), time order, at most `limit` of each (< 0 = all).
SessionEvents read_events(sqlite::Database& db, int64_t session, int64_t start_ns, int64_t end_ns, int64_t limit = -1);
// Counters (one name, or all when empty) with time in [start_ns, end_ns), in time order.
std::vector<Counter> read_counters(sqlite::Database& db, int64_t session, const std::string& name, int64_t start_ns,
                                   int64_t end_ns);

}  // namespace kvwb
