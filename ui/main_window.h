#pragma once
// The workbench window: run and budget controls on the left; live time plots, per-task
// accuracy and the layer x KV-head retention map in the Live tab (a clicked cell opens that
// head's live eviction map below it); the Try, Sweep and Sessions
// (session browser) panels in their own tabs; a status bar with step, batch, memory and throughput. The engine runs behind a
// RunController: this window only sends commands and draws the snapshots it receives.
#include <QMainWindow>

#include "engine/config/run_config.h"
#include "ui/controller/run_loop.h"
#include "ui/controller/run_snapshot.h"
#include "ui/models/run_series.h"

class QLabel;
class QTabWidget;
class QTableView;

namespace kvwb {

class BudgetFormModel;
class BudgetPanel;
class HeatmapPlot;
class LiveEvictionView;
class RunController;
class RunPanel;
class SessionPanel;
class TaskAccuracyModel;
class TimePlots;
class TryPanel;
class TryRunner;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(const RunConfig& initial, QWidget* parent = nullptr, RunLoopOptions options = {});
  ~MainWindow() override;

  void start_run();        // the Start button: the panels' config, a fresh plot history
  void apply_budget();     // the budget knobs to the running engine (between two steps)
  // The "Reference run (full KV)" button: the started run's workload with full KV, beside it.
  void start_reference();
  RunConfig current_config() const;  // the panels' choices over the initial config; throws Error

  RunController* controller() const { return controller_; }
  TimePlots* plots() const { return plots_; }
  TaskAccuracyModel* accuracy() const { return accuracy_; }
  BudgetFormModel* budget() const { return budget_; }
  RunPanel* run_panel() const { return run_panel_; }
  TryPanel* try_panel() const { return try_panel_; }
  SessionPanel* session_panel() const { return session_panel_; }
  HeatmapPlot* retention_plot() const { return retention_; }
  LiveEvictionView* live_eviction() const { return live_eviction_; }
  QTabWidget* tabs() const { return tabs_; }
  const RunSeries& series() const { return series_; }
  QString status_text() const;  // the status bar's fields, joined
  QString message() const;      // the banner above the tabs (errors, run finished)

 private:
  void build();
  void on_snapshot(const RunSnapshot& snapshot);
  void on_reference_snapshot(const RunSnapshot& snapshot);
  void on_state(RunState state, qint64 steps);
  void show_message(const QString& text, bool error);
  void update_status(const RunSnapshot& snapshot);

  RunConfig initial_;
  RunController* controller_ = nullptr;
  TryRunner* try_runner_ = nullptr;
  RunSeries series_;
  BudgetFormModel* budget_ = nullptr;
  TaskAccuracyModel* accuracy_ = nullptr;
  RunPanel* run_panel_ = nullptr;
  BudgetPanel* budget_panel_ = nullptr;
  TimePlots* plots_ = nullptr;
  HeatmapPlot* retention_ = nullptr;
  LiveEvictionView* live_eviction_ = nullptr;
  QTableView* accuracy_view_ = nullptr;
  TryPanel* try_panel_ = nullptr;
  SessionPanel* session_panel_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QLabel* message_ = nullptr;
  QLabel *state_label_ = nullptr, *step_label_ = nullptr, *batch_label_ = nullptr, *memory_label_ = nullptr,
         *rate_label_ = nullptr, *requests_label_ = nullptr;
  int64_t requests_total_ = 0;
};

}  // namespace kvwb
