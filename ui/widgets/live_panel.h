#pragma once
// The Live tab: the running engine as it steps. Time plots on the left; on the right the per-task
// accuracy table (with the fraction of the full-KV reference run's accuracy) above the token view
// of the traced requests and the layer x KV-head retention map (a clicked cell opens that head's
// live eviction map below it). It draws the snapshots the main window hands it; it sends nothing
// to the engine.
#include <optional>

#include <QWidget>

#include "engine/config/run_config.h"
#include "ui/controller/run_snapshot.h"
#include "ui/models/run_series.h"
#include "ui/models/token_traces.h"

class QTabWidget;
class QTableView;
class QTimer;

namespace kvwb {

class HeatmapPlot;
class LiveEvictionView;
class TaskAccuracyModel;
class TimePlots;
class TokenView;

class LivePanel : public QWidget {
  Q_OBJECT

 public:
  explicit LivePanel(QWidget* parent = nullptr);

  void clear();            // a new run: everything empty, the plots follow the newest step
  void clear_reference();  // a new reference run: its accuracy column empty
  void add_snapshot(const RunSnapshot& snapshot);
  void add_reference_snapshot(const RunSnapshot& snapshot);

  const RunSeries& series() const { return series_; }
  TimePlots* plots() const { return plots_; }
  TaskAccuracyModel* accuracy() const { return accuracy_; }
  HeatmapPlot* retention_plot() const { return retention_; }
  LiveEvictionView* live_eviction() const { return live_eviction_; }
  TokenView* token_view() const { return token_view_; }
  QTabWidget* side_tabs() const { return side_tabs_; }

 private:
  void build();
  void add_accuracy_points(double t);

  RunSeries series_;
  TaskAccuracyModel* accuracy_ = nullptr;
  TimePlots* plots_ = nullptr;
  QTableView* accuracy_view_ = nullptr;
  HeatmapPlot* retention_ = nullptr;
  LiveEvictionView* live_eviction_ = nullptr;
  TokenView* token_view_ = nullptr;
  QTabWidget* side_tabs_ = nullptr;
  LiveTokenTraces traces_;
  QTimer* token_timer_ = nullptr;  // the token view redraws at most 4 times a second
  std::optional<RetentionSummary> last_retention_;
  PolicyConfig retention_policy_;
};

}  // namespace kvwb
