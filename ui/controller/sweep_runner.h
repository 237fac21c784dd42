#pragma once
// The Sweep panel's engine side: a run/sweep Sweep on its own worker thread (a GuiWorker),
// reporting each point as it is measured (the analysis so far, for the live frontier). stop() ends the sweep
// after the point running, as Ctrl-C does in kvwb-cli sweep; cancel() (and the destructor)
// abandons the point running at its next step (its session reads "interrupted").
// The analysis travels as a shared pointer to a forward-declared type, so this header stays light.
#include <atomic>
#include <memory>
#include <string>

#include <QObject>
#include <QString>

#include "engine/config/run_config.h"
#include "run/sweep/sweep_grid.h"
#include "ui/controller/gui_worker.h"
#include "ui/controller/model_cache.h"

namespace kvwb {

struct SweepAnalysis;
using SweepAnalysisPtr = std::shared_ptr<const SweepAnalysis>;

struct SweepRequest {
  RunConfig base;
  SweepGrid grid;
  std::string db_path;  // SweepOptions
  double min_accuracy = 0.96;
};

class SweepRunner : public QObject {
  Q_OBJECT

 public:
  explicit SweepRunner(std::shared_ptr<ModelCache> models, QObject* parent = nullptr);
  ~SweepRunner() override = default;  // the worker cancels and waits

  void start(const SweepRequest& request);  // cancels a sweep still going
  void stop();
  void cancel();
  bool busy() const;

 signals:
  void pointStarted(int index, int points, const QString& label, bool reused);
  void progress(qint64 done, qint64 total);  // requests over the points this sweep runs
  void pointFinished(const kvwb::SweepAnalysisPtr& analysis);
  void finished(const kvwb::SweepAnalysisPtr& analysis);  // analysis->complete: every point measured
  void failed(const QString& message);

 private:
  struct Job;
  std::shared_ptr<ModelCache> models_;
  std::shared_ptr<std::atomic<bool>> stop_;  // the current sweep's: ends it after its point
  GuiWorker worker_{"kvwb-sweep"};
};

}  // namespace kvwb

Q_DECLARE_METATYPE(kvwb::SweepAnalysisPtr)
