#pragma once
// Records one session off the engine's hot path. The engine thread only copies a value into a
// bounded queue; a writer thread with its own connection commits the queue in batched
// transactions (WAL, synchronous=NORMAL). A process killed mid-run leaves a readable database
// holding every committed batch: at most the batch being written is lost, and the session,
// still marked "running", reads as "interrupted" once its process is gone.
//
// A full queue (the writer cannot keep up, or another process holds the write lock): per-step
// items (steps, counters, profiler events, retention snapshots) wait at most
// `RecorderOptions::enqueue_wait` for room and are then dropped, counted in dropped() and in
// the session's dropped_items; the engine is never held up for longer than that. Rare items
// (config changes, results, eviction maps, request tokens) wait until there is room: losing them would make
// the session wrong rather than coarser.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "sessions/session_types.h"

namespace kvwb {

struct RecorderOptions {
  size_t queue_capacity = 4096;                    // items waiting for the writer
  size_t batch_items = 256;                        // commit as soon as this many are waiting...
  std::chrono::milliseconds flush_interval{250};   // ...or when the oldest has waited this long
  std::chrono::microseconds enqueue_wait{2000};    // longest a per-step item waits for room
  // Told on the writer thread after each committed batch: how many items, and when the write
  // began and ended (steady_clock nanoseconds, the profiler's span clock). A profiled run
  // records it as a "session write" span.
  std::function<void(int64_t items, int64_t start_ns, int64_t end_ns)> on_commit;
};

// What a new session row says about the run.
struct NewSession {
  std::string name;  // empty: "<policy> on <model>"
  std::string description;
  std::string model;
  std::string backend;
  std::string device;
  nlohmann::json config;  // the RunConfig at step 0
};

class SessionRecorder {
 public:
  // Opens (or creates) the store at `db_path` and adds the session row at once, so a bad path
  // fails here, before the run starts. Errors name the file.
  SessionRecorder(const std::string& db_path, const NewSession& session, RecorderOptions options = {});
  // Without finish(): commits what is queued and marks the session "interrupted", as a run
  // that stopped early is.
  ~SessionRecorder();
  SessionRecorder(const SessionRecorder&) = delete;
  SessionRecorder& operator=(const SessionRecorder&) = delete;

  int64_t session_id() const { return session_id_; }
  const std::string& path() const { return path_; }

  // Each returns false when the item was dropped (queue full, or the recorder failed).
  bool record_step(const StepStats& stats);  // with its retention snapshot, if any
  bool record_step(StepStats&& stats);
  bool record_counter(const Counter& counter);
  bool record_trace(Trace trace);  // spans, instants, counters and track names
  bool record_trace(std::shared_ptr<const Trace> trace);  // shared with the caller: no copy
  bool record_config_change(int64_t step, const nlohmann::json& config);
  bool record_result(SessionResult result);
  bool record_eviction_map(EvictionMap map);
  bool record_tokens(RequestTokens tokens);

  // Blocks until everything recorded so far is committed (or the writer failed).
  void flush();
  // Flushes, stores the summary, marks the session finished and stops the writer. Throws the
  // writer's error, if it had one (items recorded before it are in the file).
  void finish(const nlohmann::json& summary);

  int64_t dropped() const;
  int64_t committed_items() const;
  std::optional<std::string> error() const;

 private:
  struct Finish {
    nlohmann::json summary;
  };
  using Item = std::variant<StepStats, Counter, std::shared_ptr<const Trace>, ConfigChange, SessionResult, EvictionMap,
                            RequestTokens, Finish>;

  bool push(Item item, bool may_drop);
  void writer_loop();
  void write_batch(std::deque<Item>& batch);

  std::string path_;
  RecorderOptions options_;
  int64_t session_id_ = 0;
  struct Connection;
  std::unique_ptr<Connection> connection_;  // used by the writer thread only, after construction

  mutable std::mutex mutex_;
  std::condition_variable has_work_;   // writer waits on it
  std::condition_variable has_room_;   // producers wait on it
  std::condition_variable committed_;  // flush() waits on it
  std::deque<Item> queue_;
  std::chrono::steady_clock::time_point oldest_;
  int64_t enqueued_ = 0;   // items accepted so far
  int64_t committed_count_ = 0;  // items committed (or abandoned after an error)
  int64_t dropped_ = 0;
  bool flush_requested_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::optional<std::string> error_;
  std::thread writer_;
};

}  // namespace kvwb
