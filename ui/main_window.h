#pragma once
// The workbench window: run and budget controls on the left; the Live, Try, Sweep and Sessions
// panels in tabs (live_panel.h: time plots, per-task accuracy, tokens and retention of the run
// going); a status bar with step, batch, memory and throughput. The engine runs behind a
// RunController: this window only sends commands and hands the snapshots it receives to the
// Live panel.
#include <QMainWindow>
#include <QStringList>

#include "engine/config/run_config.h"
#include "ui/controller/run_loop.h"
#include "ui/controller/run_snapshot.h"

class QLabel;
class QTabWidget;

namespace kvwb {

class BudgetFormModel;
class BudgetPanel;
class HeatmapPlot;
class LiveEvictionView;
class LivePanel;
class RunController;
class RunPanel;
class RunSeries;
class SessionPanel;
class TaskAccuracyModel;
class TimePlots;
class TokenView;
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
  // The panels' choices over the initial config, with the requests asked for in the token view
  // added to trace_sequences; throws Error.
  RunConfig current_config() const;
  void trace_request(const QString& request_id);  // traced from the next start on

  RunController* controller() const { return controller_; }
  BudgetFormModel* budget() const { return budget_; }
  RunPanel* run_panel() const { return run_panel_; }
  LivePanel* live_panel() const { return live_; }
  TryPanel* try_panel() const { return try_panel_; }
  SessionPanel* session_panel() const { return session_panel_; }
  QTabWidget* tabs() const { return tabs_; }
  // The Live panel's parts.
  TimePlots* plots() const;
  TaskAccuracyModel* accuracy() const;
  HeatmapPlot* retention_plot() const;
  LiveEvictionView* live_eviction() const;
  TokenView* token_view() const;
  QTabWidget* live_side_tabs() const;
  const RunSeries& series() const;
  QString status_text() const;  // the status bar's fields, joined
  QString message() const;      // the banner above the tabs (errors, run finished)

 private:
  void build();
  void on_snapshot(const RunSnapshot& snapshot);
  void on_state(RunState state, qint64 steps);
  void show_message(const QString& text, bool error);
  void update_status(const RunSnapshot& snapshot);
  void refresh_workload_ids(const std::string& workload);

  RunConfig initial_;
  RunController* controller_ = nullptr;
  TryRunner* try_runner_ = nullptr;
  BudgetFormModel* budget_ = nullptr;
  RunPanel* run_panel_ = nullptr;
  BudgetPanel* budget_panel_ = nullptr;
  LivePanel* live_ = nullptr;
  QStringList workload_ids_, requested_traces_;
  TryPanel* try_panel_ = nullptr;
  SessionPanel* session_panel_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QLabel* message_ = nullptr;
  QLabel *state_label_ = nullptr, *step_label_ = nullptr, *batch_label_ = nullptr, *memory_label_ = nullptr,
         *rate_label_ = nullptr, *requests_label_ = nullptr;
  int64_t requests_total_ = 0;
};

}  // namespace kvwb
