#pragma once
// A budget sweep (kvwb-cli sweep, the GUI's Sweep panel): runs every point of a SweepGrid at one
// KV pool, each recorded as a session in a session database, measures each point's accuracy
// relative to the full-KV reference, and finds the Pareto frontier (throughput vs relative
// accuracy) and the fastest point at or above an accuracy floor.
//
// Resumable: a point whose exact config (record aside) is already a finished session in the
// database, without live config changes, is read back from there instead of being run again.
// Interruptible: `stop` is checked before each point, so a stop finishes the point running
// (recorded in full) and returns what was measured so far.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/run_config.h"
#include "engine/model/model.h"
#include "run/run.h"
#include "run/sweep/relative_accuracy.h"
#include "run/sweep/sweep_grid.h"
#include "sessions/session_types.h"

namespace kvwb {

// What one recorded run of a point says (from the run just made or from the store).
struct PointMeasurement {
  int64_t session_id = 0;
  bool reused = false;  // read back from the store, not run by this sweep
  RunSummary summary;   // throughput axis: summary.total_tokens_per_second (prompt + generated)
  std::vector<SessionResult> results;
  double score() const;  // mean score over scored requests; NaN when none is scored
};

struct SweepRow {
  SweepPoint point;
  PointMeasurement measured;
  AccuracyVsReference vs_reference;
  double accuracy = 0;  // the axis value: relative accuracy, or fidelity (see SweepAnalysis)
  bool frontier = false;
};

struct SweepAnalysis {
  std::vector<SweepRow> rows;  // points measured so far, in grid order
  // "relative accuracy"; or "fidelity" when the reference scores 0 on every task (or nothing is
  // scored), where a ratio to full KV means nothing.
  std::string accuracy_basis = "relative accuracy";
  double min_accuracy = 0;
  std::optional<size_t> recommended;  // index into rows
  bool complete = false;              // every point of the grid is measured
};

// Frontier and recommendation over the points measured so far (measured[i] for points[i]).
// Without the reference measured, every accuracy is NaN and nothing is recommended.
SweepAnalysis analyze_sweep(const std::vector<SweepPoint>& points,
                            const std::vector<std::optional<PointMeasurement>>& measured, double min_accuracy);

struct SweepOptions {
  std::string db_path;        // session database every point is recorded into
  double min_accuracy = 0.96;  // the Batch-Max paper's floor: >= 96.3 % of full KV
  int64_t retention_every = 8;  // steps between retention snapshots in each session
};

struct SweepCallbacks {
  // A point begins: index into points(), and whether it is read back from the store.
  std::function<void(size_t, const SweepPoint&, bool reused)> point_started;
  // Requests finished over all the points this sweep runs (reused points count for nothing).
  std::function<void(int64_t done, int64_t total)> progress;
  // A point is measured; the analysis of everything measured so far (the GUI's live frontier).
  std::function<void(size_t, const SweepAnalysis&)> point_finished;
};

class Sweep {
 public:
  // Builds the grid (errors as sweep_points) and reads the workload to count its requests.
  // `model`: reuse a loaded model (the GUI's cache); null = load the base config's model.
  Sweep(const RunConfig& base, const SweepGrid& grid, SweepOptions options,
        std::shared_ptr<const Model> model = nullptr);

  const std::vector<SweepPoint>& points() const { return points_; }
  const SweepOptions& options() const { return options_; }
  // For each point, the finished session of the same config in the store (0 = none).
  std::vector<int64_t> recorded_sessions() const;

  // Runs (or reads back) every point in order until done or `stop` is set (checked before each
  // point). Errors of a point (a pool too small for a request, a bad workload) propagate;
  // points recorded before stay in the store.
  SweepAnalysis run(const SweepCallbacks& callbacks = {}, const std::atomic<bool>* stop = nullptr);

 private:
  PointMeasurement run_point(const SweepPoint& point, const SweepCallbacks& callbacks, int64_t done_before,
                             int64_t total);

  std::vector<SweepPoint> points_;
  SweepOptions options_;
  std::shared_ptr<const Model> model_;
  int64_t requests_per_point_ = 0;
};

}  // namespace kvwb
