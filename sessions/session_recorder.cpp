#include "sessions/session_recorder.h"

#include <ctime>
#include <random>

#include "engine/core/error.h"
#include "profiler/clock.h"
#include "sessions/process_identity.h"
#include "sessions/session_rows.h"
#include "sessions/session_store.h"

#ifndef KVWB_VERSION
#define KVWB_VERSION "unknown"
#endif

namespace kvwb {
namespace {

std::string random_uid() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", rd());
  return out;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string default_name(const nlohmann::json& config) {
  std::string policy = "full";
  if (config.contains("policy")) {
    const nlohmann::json& p = config.at("policy");
    if (p.is_string()) policy = p.get<std::string>();
    else if (p.is_object() && p.contains("name") && p.at("name").is_string()) policy = p.at("name").get<std::string>();
  }
  std::string model = config.value("model", std::string("model"));
  const size_t slash = model.find_last_of('/', model.size() > 1 ? model.size() - 2 : 0);
  if (slash != std::string::npos) model = model.substr(slash + 1);
  return fmt::format("{} on {}", policy, model);
}

}  // namespace

struct SessionRecorder::Connection {
  SessionStore store;
  RowWriter rows;
  explicit Connection(SessionStore s) : store(std::move(s)), rows(store.database()) {}
};

SessionRecorder::SessionRecorder(const std::string& db_path, const NewSession& session, RecorderOptions options)
    : path_(db_path), options_(options) {
  if (options_.queue_capacity == 0) options_.queue_capacity = 1;
  if (options_.batch_items == 0) options_.batch_items = 1;
  // The store is moved into the heap-held Connection before statements point at it.
  connection_ = std::make_unique<Connection>(SessionStore::open(db_path, sqlite::OpenMode::create, true));
  sqlite::Database& db = connection_->store.database();
  const ProcessIdentity me = current_process();
  sqlite::Statement q = db.prepare(
      "INSERT INTO sessions (uid, name, description, created, model, backend, device, kvwb_version, config, status, "
      "writer_pid, writer_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)");
  q.bind(1, random_uid()).bind(2, session.name.empty() ? default_name(session.config) : session.name);
  q.bind(3, session.description).bind(4, utc_now_iso8601()).bind(5, session.model).bind(6, session.backend);
  q.bind(7, session.device).bind(8, std::string_view(KVWB_VERSION)).bind(9, session.config.dump());
  q.bind(10, me.pid).bind(11, me.start_ticks).run();
  session_id_ = db.last_insert_rowid();
  writer_ = std::thread([this] { writer_loop(); });
}

SessionRecorder::~SessionRecorder() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  has_work_.notify_all();
  if (!writer_.joinable()) return;  // finish() already stopped it
  writer_.join();
  // Stopped without finish() while the process lives on (an aborted run): say so now, since
  // the process check would report it as running until the process exits.
  try {
    sqlite::Statement q = connection_->store.database().prepare(
        "UPDATE sessions SET status = 'interrupted', dropped_items = ? WHERE id = ? AND status = 'running'");
    q.bind(1, dropped_).bind(2, session_id_).run();
  } catch (const Error&) {
    // Nothing to report to from a destructor; the process check still marks it interrupted.
  }
}

bool SessionRecorder::push(Item item, bool may_drop) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto has_room = [&] { return queue_.size() < options_.queue_capacity || error_ || stopping_; };
  if (!has_room()) {
    if (may_drop) {
      if (!has_room_.wait_for(lock, options_.enqueue_wait, has_room)) {
        ++dropped_;
        return false;
      }
    } else {
      has_room_.wait(lock, has_room);
    }
  }
  if (error_ || stopping_ || finished_) {
    ++dropped_;
    return false;
  }
  const bool first = queue_.empty();
  if (first) oldest_ = std::chrono::steady_clock::now();
  queue_.push_back(std::move(item));
  ++enqueued_;
  // The first item wakes a writer that sleeps on an empty queue, so that it starts the flush
  // interval's clock; a full batch wakes it to commit at once.
  const bool wake = first || queue_.size() >= options_.batch_items;
  lock.unlock();
  if (wake) has_work_.notify_one();
  return true;
}

bool SessionRecorder::record_step(const StepStats& stats) { return push(stats, true); }
bool SessionRecorder::record_step(StepStats&& stats) { return push(std::move(stats), true); }
bool SessionRecorder::record_counter(const Counter& counter) { return push(counter, true); }
bool SessionRecorder::record_trace(Trace trace) {
  return record_trace(std::make_shared<const Trace>(std::move(trace)));
}
bool SessionRecorder::record_trace(std::shared_ptr<const Trace> trace) { return push(std::move(trace), true); }

bool SessionRecorder::record_config_change(int64_t step, const nlohmann::json& config) {
  return push(ConfigChange{step, config}, false);
}

bool SessionRecorder::record_result(SessionResult result) { return push(std::move(result), false); }
bool SessionRecorder::record_eviction_map(EvictionMap map) { return push(std::move(map), false); }
bool SessionRecorder::record_tokens(RequestTokens tokens) { return push(std::move(tokens), false); }

void SessionRecorder::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t target = enqueued_;
  flush_requested_ = true;
  has_work_.notify_one();
  committed_.wait(lock, [&] { return committed_count_ >= target || error_ || !writer_.joinable(); });
}

void SessionRecorder::finish(const nlohmann::json& summary) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) fail(path_, "session {} was already finished", session_id_);
  }
  push(Finish{summary}, false);
  flush();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    stopping_ = true;
  }
  has_work_.notify_all();
  writer_.join();
  if (error_) throw Error(*error_);
}

int64_t SessionRecorder::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

int64_t SessionRecorder::committed_items() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return committed_count_;
}

std::optional<std::string> SessionRecorder::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void SessionRecorder::writer_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      has_work_.wait(lock, [&] { return !queue_.empty() || stopping_ || flush_requested_; });
    }
    // The first item woke us (or was there): hold the batch until it is full or its oldest
    // item has waited the flush interval.
    if (!queue_.empty()) {
      has_work_.wait_until(lock, oldest_ + options_.flush_interval, [&] {
        return queue_.size() >= options_.batch_items || stopping_ || flush_requested_;
      });
    }
    flush_requested_ = false;
    if (queue_.empty()) {
      committed_.notify_all();
      if (stopping_) return;
      continue;
    }
    std::deque<Item> batch;
    batch.swap(queue_);
    has_room_.notify_all();
    lock.unlock();
    const auto n = static_cast<int64_t>(batch.size());
    std::optional<std::string> failure;
    const int64_t start_ns = now_ns();
    try {
      write_batch(batch);
      if (options_.on_commit) options_.on_commit(n, start_ns, now_ns());
    } catch (const std::exception& e) {
      failure = e.what();
    }
    lock.lock();
    committed_count_ += n;
    if (failure && !error_) {
      // Stop writing: what was committed stays; this batch and later items are counted as dropped.
      error_ = *failure;
      dropped_ += n + static_cast<int64_t>(queue_.size());
      committed_count_ += static_cast<int64_t>(queue_.size());
      queue_.clear();
      has_room_.notify_all();
    }
    committed_.notify_all();
    if (error_) return;
  }
}

void SessionRecorder::write_batch(std::deque<Item>& batch) {
  sqlite::Database& db = connection_->store.database();
  RowWriter& rows = connection_->rows;
  sqlite::Transaction tx(db);
  for (Item& item : batch) {
    if (auto* s = std::get_if<StepStats>(&item)) {
      rows.step(session_id_, *s);
    } else if (auto* c = std::get_if<Counter>(&item)) {
      rows.counter(session_id_, *c);
    } else if (auto* p = std::get_if<std::shared_ptr<const Trace>>(&item)) {
      const Trace* t = p->get();
      for (const TrackName& n : t->tracks) rows.track(session_id_, n);
      for (const Span& s : t->spans) rows.span(session_id_, s);
      for (const Instant& i : t->instants) rows.instant(session_id_, i);
      for (const Counter& c : t->counters) rows.counter(session_id_, c);
    } else if (auto* change = std::get_if<ConfigChange>(&item)) {
      rows.config_change(session_id_, *change);
    } else if (auto* r = std::get_if<SessionResult>(&item)) {
      rows.result(session_id_, *r);
    } else if (auto* m = std::get_if<EvictionMap>(&item)) {
      rows.eviction_map(session_id_, *m);
    } else if (auto* t = std::get_if<RequestTokens>(&item)) {
      rows.tokens(session_id_, *t);
    } else if (auto* f = std::get_if<Finish>(&item)) {
      sqlite::Statement q = db.prepare("UPDATE sessions SET summary = ?, status = 'finished' WHERE id = ?");
      q.bind(1, f->summary.dump()).bind(2, session_id_).run();
    }
  }
  int64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dropped = dropped_;
  }
  sqlite::Statement q = db.prepare("UPDATE sessions SET dropped_items = ? WHERE id = ? AND dropped_items <> ?");
  q.bind(1, dropped).bind(2, session_id_).bind(3, dropped).run();
  tx.commit();
}

}  // namespace kvwb
