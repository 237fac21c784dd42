#pragma once
// The workbench window: run and budget controls on the left; live time plots, per-task
// accuracy, the token view of the traced requests and the layer x KV-head retention map in the
// Live tab (a clicked cell opens that head's live eviction map below it); the Try, Sweep and Sessions
// (session browser) panels in their own tabs; a status bar with step, batch, memory and throughput. The engine runs behind a
// RunController: this window only sends commands and draws the snapshots it receives.
#include <optional>

#include <QMainWindow>
#include <QStringList>

#include "engine/config/run_config.h"
#include "ui/controller/run_loop.h"
#include "ui/controller/run_snapshot.h"
#include "ui/models/run_series.h"
#include "ui/models/token_traces.h"

class QLabel;
class QTabWidget;
class QTableView;
class QTimer;

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
  TimePlots* plots() const { return plots_; }
  TaskAccuracyModel* accuracy() const { return accuracy_; }
  BudgetFormModel* budget() const { return budget_; }
  RunPanel* run_panel() const { return run_panel_; }
  TryPanel* try_panel() const { return try_panel_; }
  SessionPanel* session_panel() const { return session_panel_; }
  HeatmapPlot* retention_plot() const { return retention_; }
  LiveEvictionView* live_eviction() const { return live_eviction_; }
  TokenView* token_view() const { return token_view_; }
  QTabWidget* live_side_tabs() const { return side_tabs_; }
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
  void add_accuracy_points(double t);
  void refresh_workload_ids(const std::string& workload);

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
  TokenView* token_view_ = nullptr;
  QTabWidget* side_tabs_ = nullptr;
  LiveTokenTraces traces_;
  QTimer* token_timer_ = nullptr;  // the token view redraws at most 4 times a second
  QStringList workload_ids_, requested_traces_;
  std::optional<RetentionSummary> last_retention_;
  PolicyConfig retention_policy_;
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
