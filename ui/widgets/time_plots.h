#pragma once
// The live time plots: throughput, batch, KV memory and accuracy, stacked on one shared time
// axis. Data comes from a RunSeries; a 30 Hz timer copies what changed into the graphs and
// queues one replot (QCustomPlot::rpQueuedReplot), never one per data point. The time axis
// follows the newest data until the user drags or zooms it; config changes show as marks.
#include <cstdint>
#include <string>
#include <vector>

#include <QWidget>

#include "ui/models/run_series.h"
#include "ui/widgets/frame_stats.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPAbstractItem;
class QCPGraph;
class QCPRange;
class QTimer;

namespace kvwb {

struct PlotColors;

class TimePlots : public QWidget {
  Q_OBJECT

 public:
  enum PlotId { Throughput, Batch, Memory, Accuracy, PlotCount };

  explicit TimePlots(QWidget* parent = nullptr);
  ~TimePlots() override;

  void set_series(const RunSeries* series);  // not owned; nullptr detaches
  // A second run drawn over the first on the same time axis (dashed, legend names end in
  // `suffix`, e.g. " (B)"): two sessions compared. Not owned; nullptr removes it.
  void set_overlay(const RunSeries* series, const QString& suffix);
  const RunSeries* overlay() const { return overlay_; }
  void set_frame_rate(int hz);
  bool following() const { return following_; }
  void set_following(bool follow);
  void set_window_seconds(double seconds);  // followed span; 0 = the whole run
  void refresh_now();                       // one update at once (tests, screenshots)

  QCustomPlot* plot(PlotId id) const { return plots_[id]; }
  int graph_points(PlotId id, int graph) const;  // graphs of the main series, then the overlay's
  // The accuracy plot's line of one task (its mean score, or with `fraction` its share of the
  // full-KV score): points drawn, -1 when there is no such line.
  int task_points(const std::string& task, bool fraction) const;
  // Pixel columns the series are decimated to (models/decimate.h: at most two points per
  // column, the lowest and the highest, over the visible time range).
  int decimation_buckets(PlotId id) const;
  int mark_count() const { return drawn_marks_; }
  const FrameStats& frame_stats() const { return frames_; }
  void reset_frame_stats() { frames_ = FrameStats{}; }

 signals:
  void followingChanged(bool following);

 protected:
  void changeEvent(QEvent* event) override;

 private:
  struct Binding {
    PlotId plot;
    TimeSeries RunSeries::*series;
    bool right_axis;
    bool overlay;
    QCPGraph* graph;
    int color;
    Qt::PenStyle style;
    uint64_t revision = ~uint64_t{0};
  };
  // One task's accuracy line (the main series only): created when the task first has a point.
  struct TaskLine {
    std::string task;
    bool fraction;
    QCPGraph* graph;
    int color;
    uint64_t revision = ~uint64_t{0};
  };
  void build();
  void tick();
  bool update_data();
  bool update_task_lines();
  void style_task_line(const TaskLine& line, const PlotColors& colors);
  bool update_marks();
  void update_ranges();
  std::pair<double, double> followed_range() const;  // the time range following shows
  void sync_time_axis(const QCPRange& range);
  void apply_theme();
  void record_frame();

  const RunSeries* series_ = nullptr;
  const RunSeries* overlay_ = nullptr;
  QCustomPlot* plots_[PlotCount] = {};
  std::vector<Binding> bindings_;
  std::vector<TaskLine> task_lines_;
  std::vector<QCPAbstractItem*> mark_items_;
  int drawn_marks_ = 0;
  double drawn_last_mark_ = -1;
  QTimer* timer_ = nullptr;
  QCheckBox* follow_box_ = nullptr;
  QComboBox* window_box_ = nullptr;
  bool following_ = true;
  double window_seconds_ = 0;
  bool syncing_ = false;
  bool theme_dirty_ = true;
  bool range_dirty_ = true;  // follow turned on or the window changed: refit the axes
  double mib_per_block_ = 0;  // from the latest step: KV bytes per block
  // Frame timing.
  FrameStats frames_;
  bool frame_pending_ = false;
  double pending_wall_ms_ = 0, pending_cpu_ms_ = 0;  // the open frame so far
  double replot_wall_start_ = 0, replot_cpu_start_ = 0;
};

}  // namespace kvwb
