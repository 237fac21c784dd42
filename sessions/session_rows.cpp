#include "sessions/session_rows.h"


#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "sessions/blob_format.h"

namespace kvwb {
namespace {

std::string where_of(const sqlite::Database& db, int64_t session, const std::string& what) {
  return fmt::format("{}: session {} {}", db.path(), session, what);
}

std::vector<uint8_t> tokens_blob(const std::vector<int32_t>& tokens) {
  std::vector<uint8_t> out;
  out.reserve(tokens.size() * 4);
  for (int32_t t : tokens) {
    const auto u = static_cast<uint32_t>(t);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(u >> (8 * i)));
  }
  return out;
}

std::vector<int32_t> tokens_from_blob(const std::vector<uint8_t>& blob, const std::string& where) {
  if (blob.size() % 4 != 0) fail(where, "output_tokens blob of {} bytes is not a whole number of int32", blob.size());
  std::vector<int32_t> out(blob.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= static_cast<uint32_t>(blob[4 * i + b]) << (8 * b);
    out[i] = static_cast<int32_t>(u);
  }
  return out;
}

// Args keep their order and their type (integer, float, string) as [[key, value], ...].
std::string args_json(const std::vector<Arg>& args) {
  nlohmann::json j = nlohmann::json::array();
  for (const Arg& a : args) {
    std::visit([&](const auto& v) { j.push_back({a.key, v}); }, a.value);
  }
  return j.dump();
}

std::vector<Arg> args_from_json(const std::string& text, const std::string& where) {
  std::vector<Arg> args;
  if (text.empty()) return args;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) fail(where, "event args are not a JSON array");
  for (const nlohmann::json& pair : j) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string()) fail(where, "malformed event arg");
    Arg a;
    a.key = pair[0].get<std::string>();
    if (pair[1].is_number_integer()) a.value = json_integer<int64_t>(pair[1], a.key, where);
    else if (pair[1].is_number()) a.value = pair[1].get<double>();
    else if (pair[1].is_string()) a.value = pair[1].get<std::string>();
    else fail(where, "event arg '{}' is neither a number nor a string", a.key);
    args.push_back(std::move(a));
  }
  return args;
}

nlohmann::json json_column(const sqlite::Statement& s, int column, const std::string& where) {
  const nlohmann::json j = nlohmann::json::parse(s.text(column), nullptr, false);
  if (j.is_discarded()) fail(where, "stored JSON is malformed");
  return j;
}

Category category_of(const std::string& name, const std::string& where) {
  const std::optional<Category> c = parse_category(name);
  if (!c) fail(where, "unknown event category '{}'", name);
  return *c;
}

}  // namespace

RowWriter::RowWriter(sqlite::Database& db)
    : step_(db.prepare(fmt::format("INSERT OR REPLACE INTO steps (session, {}) VALUES "
                                   "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                   kStepColumns))),
      retention_(db.prepare("INSERT OR REPLACE INTO retention (session, step, data) VALUES (?, ?, ?)")),
      change_(db.prepare("INSERT INTO config_changes (session, step, config) VALUES (?, ?, ?)")),
      result_(db.prepare("INSERT OR REPLACE INTO results (session, request_id, task, metric, prompt_tokens, "
                         "output_text, output_tokens, score, latency_seconds, first_token_seconds, preemptions, "
                         "stopped_at_eos) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")),
      eviction_(db.prepare("INSERT OR REPLACE INTO eviction_maps (session, request_id, step, data) VALUES (?,?,?,?)")),
      tokens_(db.prepare("INSERT OR REPLACE INTO request_tokens (session, request_id, data) VALUES (?,?,?)")),
      counter_(db.prepare("INSERT INTO counters (session, name, step, time_ns, value) VALUES (?,?,?,?,?)")),
      event_(db.prepare("INSERT INTO events (session, kind, name, category, start_ns, end_ns, track_kind, "
                        "track_device, track_id, step, args) VALUES (?,?,?,?,?,?,?,?,?,?,?)")),
      track_(db.prepare("INSERT OR REPLACE INTO tracks (session, track_kind, track_device, track_id, name) "
                        "VALUES (?,?,?,?,?)")) {}

void RowWriter::step(int64_t session, const StepStats& s) {
  step_.bind(1, session).bind(2, s.step).bind(3, s.start_seconds).bind(4, s.wall_seconds).bind(5, s.batch_size);
  step_.bind(6, s.running).bind(7, s.waiting).bind(8, s.prefill_tokens).bind(9, s.decode_tokens).bind(10, s.admitted);
  step_.bind(11, s.finished).bind(12, s.preemptions).bind(13, s.evicted_slots).bind(14, s.blocks_freed_by_eviction);
  step_.bind(15, s.blocks_used).bind(16, s.blocks_free).bind(17, s.blocks_total).bind(18, s.peak_blocks_used);
  step_.bind(19, s.kv_bytes_used).bind(20, s.forward_seconds).bind(21, s.eviction_seconds);
  if (s.evictions_per_head.empty()) step_.bind_null(22);
  else step_.bind_blob(22, encode_counts(s.evictions_per_head));
  if (s.kv_slots_used < 0) step_.bind_null(23);  // not known (a step read back from an older session)
  else step_.bind(23, s.kv_slots_used);
  step_.run();
  if (!s.retention.empty()) retention(session, s.step, s.retention);
}

void RowWriter::retention(int64_t session, int64_t step, const std::vector<HeadRetention>& heads) {
  retention_.bind(1, session).bind(2, step).bind_blob(3, encode_retention(heads)).run();
}

void RowWriter::config_change(int64_t session, const ConfigChange& c) {
  change_.bind(1, session).bind(2, c.step).bind(3, c.config.dump()).run();
}

void RowWriter::result(int64_t session, const SessionResult& r) {
  result_.bind(1, session).bind(2, r.id).bind(3, r.task).bind(4, r.metric).bind(5, r.prompt_tokens);
  result_.bind(6, r.output_text).bind_blob(7, tokens_blob(r.output_tokens));
  if (r.score) result_.bind(8, *r.score);
  else result_.bind_null(8);
  result_.bind(9, r.latency_seconds).bind(10, r.first_token_seconds).bind(11, r.preemptions);
  result_.bind(12, int64_t{r.stopped_at_eos ? 1 : 0});
  result_.run();
}

void RowWriter::eviction_map(int64_t session, const EvictionMap& m) {
  eviction_.bind(1, session).bind(2, m.request_id).bind(3, m.step).bind_blob(4, encode_eviction_map(m)).run();
}

void RowWriter::tokens(int64_t session, const RequestTokens& t) {
  tokens_.bind(1, session).bind(2, t.request_id).bind_blob(3, encode_tokens(t)).run();
}

void RowWriter::counter(int64_t session, const Counter& c) {
  counter_.bind(1, session).bind(2, c.name).bind(3, c.step).bind(4, c.time_ns).bind(5, c.value).run();
}

void RowWriter::span(int64_t session, const Span& s) {
  event_.bind(1, session).bind(2, std::string_view("span")).bind(3, s.name).bind(4, category_name(s.category));
  event_.bind(5, s.start_ns).bind(6, s.end_ns).bind(7, int64_t{static_cast<uint8_t>(s.track.kind)});
  event_.bind(8, int64_t{s.track.device}).bind(9, int64_t{s.track.id}).bind(10, s.step);
  if (s.args.empty()) event_.bind_null(11);
  else event_.bind(11, args_json(s.args));
  event_.run();
}

void RowWriter::instant(int64_t session, const Instant& i) {
  event_.bind(1, session).bind(2, std::string_view("instant")).bind(3, i.name).bind(4, category_name(i.category));
  event_.bind(5, i.time_ns).bind(6, i.time_ns).bind(7, int64_t{static_cast<uint8_t>(i.track.kind)});
  event_.bind(8, int64_t{i.track.device}).bind(9, int64_t{i.track.id}).bind(10, i.step);
  if (i.args.empty()) event_.bind_null(11);
  else event_.bind(11, args_json(i.args));
  event_.run();
}

void RowWriter::track(int64_t session, const TrackName& t) {
  track_.bind(1, session).bind(2, int64_t{static_cast<uint8_t>(t.track.kind)}).bind(3, int64_t{t.track.device});
  track_.bind(4, int64_t{t.track.id}).bind(5, t.name).run();
}

std::vector<StepStats> read_steps(sqlite::Database& db, int64_t session, int64_t first_step, int64_t limit) {
  sqlite::Statement q = db.prepare(fmt::format(
      "SELECT {} FROM steps WHERE session = ? AND step >= ? ORDER BY step LIMIT ?", kStepColumns));
  q.bind(1, session).bind(2, first_step).bind(3, limit);
  std::vector<StepStats> steps;
  while (q.step()) {
    StepStats s;
    int c = 0;
    s.step = q.int64(c++);
    s.start_seconds = q.real(c++);
    s.wall_seconds = q.real(c++);
    for (int64_t* field : {&s.batch_size, &s.running, &s.waiting, &s.prefill_tokens, &s.decode_tokens, &s.admitted,
                           &s.finished, &s.preemptions, &s.evicted_slots, &s.blocks_freed_by_eviction, &s.blocks_used,
                           &s.blocks_free, &s.blocks_total, &s.peak_blocks_used, &s.kv_bytes_used}) {
      *field = q.int64(c++);
    }
    s.forward_seconds = q.real(c++);
    s.eviction_seconds = q.real(c++);
    if (!q.is_null(c)) {
      s.evictions_per_head = decode_counts(q.blob(c), where_of(db, session, fmt::format("step {} evictions", s.step)));
    }
    ++c;
    s.kv_slots_used = q.is_null(c) ? kSlotsNotRecorded : q.int64(c);
    steps.push_back(std::move(s));
  }
  return steps;
}

std::vector<ConfigChange> read_config_changes(sqlite::Database& db, int64_t session) {
  sqlite::Statement q = db.prepare("SELECT step, config FROM config_changes WHERE session = ? ORDER BY step, rowid");
  q.bind(1, session);
  std::vector<ConfigChange> changes;
  while (q.step()) {
    const int64_t step = q.int64(0);
    changes.push_back({step, json_column(q, 1, where_of(db, session, fmt::format("config change at step {}", step)))});
  }
  return changes;
}

std::vector<SessionResult> read_results(sqlite::Database& db, int64_t session) {
  sqlite::Statement q = db.prepare(
      "SELECT request_id, task, metric, prompt_tokens, output_text, output_tokens, score, latency_seconds, "
      "first_token_seconds, preemptions, stopped_at_eos FROM results WHERE session = ? ORDER BY request_id");
  q.bind(1, session);
  std::vector<SessionResult> results;
  while (q.step()) {
    SessionResult r;
    r.id = q.text(0);
    r.task = q.text(1);
    r.metric = q.text(2);
    r.prompt_tokens = q.int64(3);
    r.output_text = q.text(4);
    r.output_tokens = tokens_from_blob(q.blob(5), where_of(db, session, "result " + r.id));
    if (!q.is_null(6)) r.score = q.real(6);
    r.latency_seconds = q.real(7);
    r.first_token_seconds = q.real(8);
    r.preemptions = q.int64(9);
    r.stopped_at_eos = q.int64(10) != 0;
    results.push_back(std::move(r));
  }
  return results;
}

std::vector<int64_t> read_retention_steps(sqlite::Database& db, int64_t session) {
  sqlite::Statement q = db.prepare("SELECT step FROM retention WHERE session = ? ORDER BY step");
  q.bind(1, session);
  std::vector<int64_t> steps;
  while (q.step()) steps.push_back(q.int64(0));
  return steps;
}

std::vector<RetentionSnapshot> read_retention(sqlite::Database& db, int64_t session, int64_t first_step,
                                              int64_t last_step) {
  sqlite::Statement q =
      db.prepare("SELECT step, data FROM retention WHERE session = ? AND step BETWEEN ? AND ? ORDER BY step");
  q.bind(1, session).bind(2, first_step).bind(3, last_step);
  std::vector<RetentionSnapshot> out;
  while (q.step()) {
    RetentionSnapshot r;
    r.step = q.int64(0);
    r.heads = decode_retention(q.blob(1), where_of(db, session, fmt::format("retention at step {}", r.step)));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<EvictionMap> read_eviction_maps(sqlite::Database& db, int64_t session) {
  sqlite::Statement q = db.prepare("SELECT request_id, data FROM eviction_maps WHERE session = ? ORDER BY request_id");
  q.bind(1, session);
  std::vector<EvictionMap> out;
  while (q.step()) out.push_back(decode_eviction_map(q.blob(1), where_of(db, session, "eviction map " + q.text(0))));
  return out;
}

std::optional<EvictionMap> read_eviction_map(sqlite::Database& db, int64_t session, const std::string& request_id) {
  sqlite::Statement q = db.prepare("SELECT data FROM eviction_maps WHERE session = ? AND request_id = ?");
  q.bind(1, session).bind(2, request_id);
  if (!q.step()) return std::nullopt;
  return decode_eviction_map(q.blob(0), where_of(db, session, "eviction map " + request_id));
}

std::vector<RequestTokens> read_tokens(sqlite::Database& db, int64_t session) {
  sqlite::Statement q = db.prepare("SELECT request_id, data FROM request_tokens WHERE session = ? ORDER BY request_id");
  q.bind(1, session);
  std::vector<RequestTokens> out;
  while (q.step()) {
    RequestTokens t = decode_tokens(q.blob(1), where_of(db, session, "tokens of " + q.text(0)));
    t.request_id = q.text(0);
    out.push_back(std::move(t));
  }
  return out;
}

SessionEvents read_events(sqlite::Database& db, int64_t session, int64_t start_ns, int64_t end_ns, int64_t limit) {
  SessionEvents out;
  const std::string where = where_of(db, session, "events");
  sqlite::Statement q = db.prepare(
      "SELECT kind, name, category, start_ns, end_ns, track_kind, track_device, track_id, step, args FROM events "
      "WHERE session = ? AND start_ns >= ? AND start_ns < ? AND kind = ? ORDER BY start_ns, id LIMIT ?");
  for (const char* kind : {"span", "instant"}) {
    q.bind(1, session).bind(2, start_ns).bind(3, end_ns).bind(4, std::string_view(kind)).bind(5, limit);
    while (q.step()) {
      Track track;
      track.kind = q.int64(5) == 1 ? Track::Kind::gpu_stream : Track::Kind::cpu_thread;
      track.device = static_cast<uint32_t>(q.int64(6));
      track.id = static_cast<uint32_t>(q.int64(7));
      if (q.text(0) == "span") {
        Span s;
        s.name = q.text(1);
        s.category = category_of(q.text(2), where);
        s.start_ns = q.int64(3);
        s.end_ns = q.int64(4);
        s.track = track;
        s.step = q.int64(8);
        s.args = args_from_json(q.text(9), where);
        out.spans.push_back(std::move(s));
      } else {
        Instant i;
        i.name = q.text(1);
        i.category = category_of(q.text(2), where);
        i.time_ns = q.int64(3);
        i.track = track;
        i.step = q.int64(8);
        i.args = args_from_json(q.text(9), where);
        out.instants.push_back(std::move(i));
      }
    }
    q.reset();
  }
  out.counters = read_counters(db, session, "", start_ns, end_ns);
  sqlite::Statement t =
      db.prepare("SELECT track_kind, track_device, track_id, name FROM tracks WHERE session = ? ORDER BY 1, 2, 3");
  t.bind(1, session);
  while (t.step()) {
    TrackName n;
    n.track.kind = t.int64(0) == 1 ? Track::Kind::gpu_stream : Track::Kind::cpu_thread;
    n.track.device = static_cast<uint32_t>(t.int64(1));
    n.track.id = static_cast<uint32_t>(t.int64(2));
    n.name = t.text(3);
    out.tracks.push_back(std::move(n));
  }
  return out;
}

std::vector<Counter> read_counters(sqlite::Database& db, int64_t session, const std::string& name, int64_t start_ns,
                                   int64_t end_ns) {
  sqlite::Statement q = db.prepare(
      "SELECT name, step, time_ns, value FROM counters WHERE session = ? AND (? = '' OR name = ?) "
      "AND time_ns >= ? AND time_ns < ? ORDER BY time_ns, rowid");
  q.bind(1, session).bind(2, name).bind(3, name).bind(4, start_ns).bind(5, end_ns);
  std::vector<Counter> out;
  while (q.step()) out.push_back(Counter{q.text(0), q.real(3), q.int64(1), q.int64(2)});
  return out;
}

}  // namespace kvwb
