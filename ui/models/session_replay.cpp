#include "ui/models/session_replay.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "engine/config/run_config.h"
#include "ui/controller/config_diff.h"
#include "ui/controller/rate_window.h"

namespace kvwb {
namespace {

// Parsed without validation: a session recorded by another version may hold keys this one
// would refuse, and a mark's text must not fail the whole replay.
std::optional<RunConfig> parsed(const nlohmann::json& j) {
  try {
    return run_config_from_json(j, "session config");
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Marks the retained positions of one row: kKept, or kProtected where the span protects them.
void mark_kept(double* row, const std::vector<int32_t>& positions, int32_t context, const ProtectedSpan* span) {
  std::fill(row, row + context, HeadTimeline::kEvicted);
  for (int32_t p : positions) {
    if (p < 0 || p >= context) continue;
    row[p] = span != nullptr && span->protects(p, context) ? HeadTimeline::kProtected : HeadTimeline::kKept;
  }
}

}  // namespace

ProtectedSpan ProtectionSchedule::at(int64_t step) const {
  ProtectedSpan span;
  for (const auto& [from, s] : from_step) {
    if (from > step) break;
    span = s;
  }
  return span;
}

ProtectionSchedule protection_schedule(const nlohmann::json& initial, const std::vector<ConfigChange>& changes) {
  ProtectionSchedule out;
  auto add = [&](int64_t step, const nlohmann::json& config) {
    const std::optional<RunConfig> c = parsed(config);
    // A config this version cannot read marks nothing rather than guessing.
    out.from_step.emplace_back(step, c ? protected_span(c->policy) : ProtectedSpan{});
  };
  add(std::numeric_limits<int64_t>::min(), initial);
  for (const ConfigChange& c : changes) add(c.step, c.config);
  return out;
}

std::vector<ConfigMark> config_marks(const nlohmann::json& initial, const std::vector<ConfigChange>& changes,
                                     const std::vector<StepStats>& steps) {
  std::vector<ConfigMark> marks;
  nlohmann::json before = initial;
  for (const ConfigChange& c : changes) {
    ConfigMark m;
    m.step = c.step;
    const auto at = std::lower_bound(steps.begin(), steps.end(), c.step,
                                     [](const StepStats& s, int64_t step) { return s.step < step; });
    m.t = at != steps.end() ? at->start_seconds : (steps.empty() ? 0.0 : steps.back().start_seconds + steps.back().wall_seconds);
    const std::optional<RunConfig> a = parsed(before), b = parsed(c.config);
    m.text = a && b ? describe_config_change(*a, *b) : std::string("config changed");
    if (!m.text.empty()) marks.push_back(std::move(m));
    before = c.config;
  }
  return marks;
}

void replay_session(const Session& session, SessionReplay& out, double rate_window_seconds) {
  // Every step is kept (the session is in memory anyway): the plots decimate what they draw
  // by min and max per pixel column, so a one-step spike of an hour-long session still shows,
  // which the live run's mean-merged history could not promise.
  out.series = RunSeries(std::max<size_t>(4096, session.steps.size() + 1), 1024);
  RateWindow generated(rate_window_seconds), total(rate_window_seconds);
  RunSnapshot snapshot;
  snapshot.points.reserve(session.steps.size());
  for (const StepStats& s : session.steps) snapshot.points.push_back(step_point(s, generated, total));
  snapshot.marks = config_marks(session.info.config, session.config_changes, session.steps);
  out.series.add(snapshot);

  int layers = 0, heads = 0;
  std::set<std::string> ids;
  out.retention_steps.clear();
  for (const RetentionSnapshot& r : session.retention) {
    out.retention_steps.push_back(r.step);
    for (const HeadRetention& h : r.heads) {
      layers = std::max(layers, h.layer + 1);
      heads = std::max(heads, h.head + 1);
      ids.insert(h.request_id);
    }
  }
  out.layers = layers;
  out.kv_heads = heads;
  out.request_ids.assign(ids.begin(), ids.end());
  out.protection = protection_schedule(session.info.config, session.config_changes);
}

std::optional<RetentionSummary> replay_retention(const Session& session, const SessionReplay& replay, size_t index,
                                                 const std::string& request_id) {
  if (index >= session.retention.size()) return std::nullopt;
  const RetentionSnapshot& r = session.retention[index];
  return summarize_retention(r.step, r.heads, replay.layers, replay.kv_heads, request_id);
}

std::vector<double> retention_fraction(const Session& session, const SessionReplay& replay, size_t index,
                                       const std::string& request_id) {
  const size_t cells = static_cast<size_t>(replay.layers) * static_cast<size_t>(replay.kv_heads);
  std::vector<double> sum(cells, 0.0), count(cells, 0.0);
  if (index < session.retention.size()) {
    const std::vector<HeadRetention>& heads = session.retention[index].heads;
    std::map<std::string, int32_t> context;  // newest retained position + 1, per sequence
    for (const HeadRetention& h : heads) {
      if (!h.positions.empty()) context[h.request_id] = std::max(context[h.request_id], h.positions.back() + 1);
    }
    for (const HeadRetention& h : heads) {
      if (!request_id.empty() && h.request_id != request_id) continue;
      if (h.layer < 0 || h.layer >= replay.layers || h.head < 0 || h.head >= replay.kv_heads) continue;
      const int32_t n = context[h.request_id];
      if (n <= 0) continue;
      const size_t cell = static_cast<size_t>(h.layer) * static_cast<size_t>(replay.kv_heads) + static_cast<size_t>(h.head);
      sum[cell] += static_cast<double>(h.length) / n;
      count[cell] += 1;
    }
  }
  std::vector<double> out(cells, std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < cells; ++i) {
    if (count[i] > 0) out[i] = sum[i] / count[i];
  }
  return out;
}

double HeadTimeline::at(size_t row, int64_t position) const {
  if (row >= steps.size() || position < 0 || position >= positions) return std::numeric_limits<double>::quiet_NaN();
  return cells[row * static_cast<size_t>(positions) + static_cast<size_t>(position)];
}

HeadTimeline head_timeline(const std::vector<RetentionSnapshot>& snapshots, const std::string& request_id, int layer,
                           int head, size_t last_snapshot, const ProtectionSchedule* protection) {
  HeadTimeline t;
  const size_t rows = std::min(last_snapshot + 1, snapshots.size());
  std::vector<int32_t> context(rows, 0);
  std::vector<const HeadRetention*> row_head(rows, nullptr);
  for (size_t r = 0; r < rows; ++r) {
    for (const HeadRetention& h : snapshots[r].heads) {
      if (h.request_id != request_id) continue;
      if (!h.positions.empty()) context[r] = std::max(context[r], h.positions.back() + 1);
      if (h.layer == layer && h.head == head) row_head[r] = &h;
    }
    t.positions = std::max<int64_t>(t.positions, context[r]);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  t.cells.assign(rows * static_cast<size_t>(t.positions), nan);
  for (size_t r = 0; r < rows; ++r) {
    t.steps.push_back(snapshots[r].step);
    if (row_head[r] == nullptr) continue;
    const ProtectedSpan span = protection != nullptr ? protection->at(snapshots[r].step) : ProtectedSpan{};
    mark_kept(t.cells.data() + r * static_cast<size_t>(t.positions), row_head[r]->positions, context[r],
              protection != nullptr ? &span : nullptr);
  }
  return t;
}

HeadTimeline heads_at_snapshot(const Session& session, const SessionReplay& replay, const std::string& request_id,
                               size_t index, const ProtectionSchedule* protection) {
  HeadTimeline t;
  if (index >= session.retention.size()) return t;
  const RetentionSnapshot& snap = session.retention[index];
  t.steps.push_back(snap.step);
  int32_t context = 0;
  for (const HeadRetention& h : snap.heads) {
    if (h.request_id == request_id && !h.positions.empty()) context = std::max(context, h.positions.back() + 1);
  }
  t.positions = context;
  const size_t rows = static_cast<size_t>(replay.layers) * static_cast<size_t>(replay.kv_heads);
  t.cells.assign(rows * static_cast<size_t>(context), std::numeric_limits<double>::quiet_NaN());
  const ProtectedSpan span = protection != nullptr ? protection->at(snap.step) : ProtectedSpan{};
  for (const HeadRetention& h : snap.heads) {
    if (h.request_id != request_id || h.layer < 0 || h.layer >= replay.layers || h.head < 0 || h.head >= replay.kv_heads) {
      continue;
    }
    double* row = t.cells.data() +
                  (static_cast<size_t>(h.layer) * static_cast<size_t>(replay.kv_heads) + static_cast<size_t>(h.head)) *
                      static_cast<size_t>(context);
    mark_kept(row, h.positions, context, protection != nullptr ? &span : nullptr);
  }
  return t;
}

}  // namespace kvwb
