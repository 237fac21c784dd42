#pragma once
// The GUI's handle on the engine. Each run (and its full-KV reference) steps in its own worker
// thread (a GuiWorker per lane) through a RunLoop; this object lives on the GUI thread, forwards
// commands to the workers (applied between engine steps) and re-emits their coalesced snapshots
// as signals on the GUI thread. No method here calls into the engine, so none of them blocks the window.
#include <memory>

#include <QObject>
#include <QString>

#include "engine/config/run_config.h"
#include "ui/controller/gui_worker.h"
#include "ui/controller/model_cache.h"
#include "ui/controller/run_loop.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {

class RunController : public QObject {
  Q_OBJECT

 public:
  explicit RunController(QObject* parent = nullptr, RunLoopOptions options = {},
                         std::shared_ptr<ModelCache> models = nullptr);
  ~RunController() override;  // stops every worker and waits for it

  // Starts a run (a run already going is stopped first; its late reports are dropped).
  void start(const RunConfig& config);
  void pause();
  void resume();
  void stop();
  // Between two steps of the current run: the tunables (policy, budgets, chunk, window, sinks,
  // protected window, decode interval, limits, sampling) take effect; what defines the run
  // (model, backend, workload, KV pool, block size) stays as started.
  void update_config(const RunConfig& config);

  // The same workload with full KV, so accuracy can be shown as a fraction of full-KV accuracy.
  void start_reference();
  void stop_reference();

  RunState state() const { return main_.state; }
  RunState reference_state() const { return reference_.state; }
  const RunConfig& started_config() const { return main_.config; }
  std::shared_ptr<ModelCache> models() const { return models_; }

  // The full-KV twin of a config: policy full, nothing recorded.
  static RunConfig reference_config(const RunConfig& config);

 signals:
  void snapshot(const kvwb::RunSnapshot& snapshot);
  void stateChanged(kvwb::RunState state, qint64 steps_done);
  void failed(const QString& message);
  void configRejected(const QString& message);
  void referenceSnapshot(const kvwb::RunSnapshot& snapshot);
  void referenceStateChanged(kvwb::RunState state, qint64 steps_done);
  void referenceFailed(const QString& message);

 private:
  struct Lane {
    explicit Lane(const char* thread_name) : worker(thread_name) {}
    GuiWorker worker;  // reports of an older run of this lane are dropped
    std::shared_ptr<RunLoop> loop;
    RunState state = RunState::Idle;
    RunConfig config;
  };
  void start_lane(Lane& lane, bool reference, const RunConfig& config);
  void emit_failed(bool reference, const QString& message);

  RunLoopOptions options_;
  std::shared_ptr<ModelCache> models_;
  Lane main_{"kvwb-run"}, reference_{"kvwb-reference"};
};

}  // namespace kvwb
