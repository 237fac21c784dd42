#include "run/sweep/sweep.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "engine/core/error.h"
#include "engine/workload/workload.h"
#include "run/run.h"
#include "run/run_report.h"
#include "run/session_recording.h"
#include "run/sweep/pareto.h"
#include "sessions/session_store.h"

namespace kvwb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The form two configs are compared in: parsed and written back by the same code, recording
// left out (a stored config went through SQLite text and was written by another version).
nlohmann::json comparable(const RunConfig& config) {
  nlohmann::json j = run_config_to_json(config);
  j["record"] = nullptr;
  return j;
}

}  // namespace

double PointMeasurement::score() const { return summary.overall.count > 0 ? summary.overall.mean : kNaN; }

SweepAnalysis analyze_sweep(const std::vector<SweepPoint>& points,
                            const std::vector<std::optional<PointMeasurement>>& measured, double min_accuracy) {
  SweepAnalysis a;
  a.min_accuracy = min_accuracy;
  const std::vector<SessionResult>* reference = nullptr;
  for (size_t i = 0; i < points.size() && i < measured.size(); ++i) {
    if (points[i].reference && measured[i]) reference = &measured[i]->results;
  }
  if (reference && std::isnan(compare_to_reference(*reference, *reference).relative_accuracy)) {
    a.accuracy_basis = "fidelity";
  }
  a.complete = true;
  std::vector<TradeoffPoint> tradeoffs;
  for (size_t i = 0; i < points.size(); ++i) {
    if (i >= measured.size() || !measured[i]) {
      a.complete = false;
      continue;
    }
    SweepRow row{points[i], *measured[i], {}, kNaN, false};
    if (reference) {
      row.vs_reference = compare_to_reference(row.measured.results, *reference);
      row.accuracy = a.accuracy_basis == "fidelity" ? row.vs_reference.fidelity : row.vs_reference.relative_accuracy;
    } else {
      row.vs_reference.relative_accuracy = row.vs_reference.fidelity = kNaN;
    }
    tradeoffs.push_back({row.measured.summary.total_tokens_per_second, row.accuracy});
    a.rows.push_back(std::move(row));
  }
  const std::vector<bool> frontier = pareto_frontier(tradeoffs);
  for (size_t i = 0; i < a.rows.size(); ++i) a.rows[i].frontier = frontier[i];
  a.recommended = recommend(tradeoffs, min_accuracy);
  return a;
}

Sweep::Sweep(const RunConfig& base, const SweepGrid& grid, SweepOptions options, std::shared_ptr<const Model> model)
    : points_(sweep_points(base, grid)), options_(std::move(options)), model_(std::move(model)) {
  if (options_.db_path.empty()) fail("sweep", "no session database to record the points into");
  if (base.workload.empty()) fail("workload", "the sweep's config names no workload file");
  requests_per_point_ = static_cast<int64_t>(load_workload(base.workload).requests.size());
  if (base.max_requests) requests_per_point_ = std::min(requests_per_point_, *base.max_requests);
}

std::vector<int64_t> Sweep::recorded_sessions() const {
  std::vector<int64_t> ids(points_.size(), 0);
  if (!std::filesystem::exists(options_.db_path)) return ids;
  SessionStore store = SessionStore::open(options_.db_path, sqlite::OpenMode::read_write);
  std::vector<nlohmann::json> wanted;
  for (const SweepPoint& p : points_) wanted.push_back(comparable(p.config));
  for (const SessionInfo& info : store.list()) {  // in id order: a later recording wins
    if (info.status != SessionStatus::finished) continue;
    nlohmann::json config;
    try {
      config = comparable(run_config_from_json(info.config, "session"));
    } catch (const Error&) {
      continue;  // not a config this version reads: not a point of this sweep
    }
    for (size_t i = 0; i < points_.size(); ++i) {
      if (config != wanted[i]) continue;
      if (store.summary(info.id).is_null() || !store.config_changes(info.id).empty()) continue;
      ids[i] = std::max(ids[i], info.id);
    }
  }
  return ids;
}

PointMeasurement Sweep::run_point(const SweepPoint& point, const SweepCallbacks& callbacks, int64_t done_before,
                                  int64_t total) {
  Run run(point.config, model_);
  if (!model_) model_ = run.shared_model();  // loaded once for the whole sweep
  RecordingOptions recording_options;
  recording_options.name = "sweep: " + point.label;
  recording_options.description = point.reference ? "kvwb sweep: full-KV reference" : "kvwb sweep point";
  recording_options.retention_every = options_.retention_every;
  RunRecording recording(run, options_.db_path, recording_options);
  const RunSummary summary = run.run_to_completion([&](int64_t done, int64_t) {
    if (callbacks.progress) callbacks.progress(done_before + done, total);
  });
  recording.finish();
  PointMeasurement m{recording.session_id(), false, summary, {}};
  for (const RequestResult& r : run.results()) m.results.push_back(session_result(r));
  return m;
}

SweepAnalysis Sweep::run(const SweepCallbacks& callbacks, const std::atomic<bool>* stop) {
  const std::vector<int64_t> recorded = recorded_sessions();
  const auto to_run = static_cast<int64_t>(std::count(recorded.begin(), recorded.end(), 0));
  const int64_t total = to_run * requests_per_point_;
  int64_t done = 0;
  std::vector<std::optional<PointMeasurement>> measured(points_.size());
  SweepAnalysis analysis = analyze_sweep(points_, measured, options_.min_accuracy);
  for (size_t i = 0; i < points_.size(); ++i) {
    if (stop && stop->load()) break;
    const bool reused = recorded[i] != 0;
    if (callbacks.point_started) callbacks.point_started(i, points_[i], reused);
    if (reused) {
      SessionStore store = SessionStore::open(options_.db_path, sqlite::OpenMode::read_write);
      measured[i] = PointMeasurement{recorded[i], true, summary_from_json(store.summary(recorded[i])),
                                     store.results(recorded[i])};
    } else {
      measured[i] = run_point(points_[i], callbacks, done, total);
      done += requests_per_point_;
    }
    analysis = analyze_sweep(points_, measured, options_.min_accuracy);
    if (callbacks.point_finished) callbacks.point_finished(i, analysis);
  }
  return analysis;
}

}  // namespace kvwb
