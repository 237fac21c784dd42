#pragma once
// The body of a workbench worker thread: builds a Run from a RunConfig, steps it, and reports
// coalesced snapshots. Commands (pause, resume, stop, config updates) may come from any thread;
// they take effect between two engine steps, never inside one. Qt-free, so the controller's
// threading is the only Qt part of running the engine.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/config/run_config.h"
#include "run/run.h"
#include "ui/controller/model_cache.h"
#include "ui/controller/rate_window.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {

struct RunLoopOptions {
  double max_snapshots_per_second = 30;     // coalescing cap on reports to the GUI
  double retention_interval_seconds = 0.5;  // how often a per-head retention snapshot is taken
  double rate_window_seconds = 1.0;         // throughput averaging window
  BackendDecorator decorate_backend;        // tests only: wraps each run's backend (run/run.h)
};

// Callbacks run on the worker thread; the controller forwards them to the GUI thread.
struct RunLoopEvents {
  std::function<void(RunSnapshot)> snapshot;
  std::function<void(RunState state, int64_t steps_done)> state;
  std::function<void(const std::string& message)> failed;           // the run could not start or went wrong
  std::function<void(const std::string& message)> config_rejected;  // an update was refused; the run goes on
};

class RunLoop {
 public:
  RunLoop(RunConfig config, std::shared_ptr<ModelCache> models, RunLoopOptions options = {});

  // Runs until the workload is done, stop() is called, or an error, reporting to `events`. Call
  // once, on the worker (the events are the worker's: a GuiWorker job posts them to the GUI).
  void run(RunLoopEvents events);

  // Any thread. A config update replaces any update not yet applied.
  void pause();
  void resume();
  void stop();
  void update_config(const RunConfig& config);

 private:
  enum class Command { None, Stop };
  // Applies pending commands; returns false when the loop must end. May block while paused.
  bool between_steps(Run& run);
  void record_step(Run& run, RunStep step);
  void emit_snapshot(Run& run);
  void set_state(RunState state, int64_t steps_done);

  RunConfig config_;
  std::shared_ptr<ModelCache> models_;
  RunLoopOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool pause_ = false;
  std::optional<RunConfig> pending_config_;

  // Worker-thread state.
  RunLoopEvents events_;
  RunSnapshot pending_;
  std::optional<ConfigMark> mark_waiting_for_step_;  // filled with the next step's time
  RateWindow generated_rate_, total_rate_;
  int64_t steps_done_ = 0;
  double last_emit_ = -1e9;
  double last_retention_ = -1e9;
  bool first_snapshot_ = true;
  std::map<std::string, int64_t> task_totals_;
};

}  // namespace kvwb
