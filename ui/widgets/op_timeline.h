#pragma once
// The op timeline of a recorded session: its profiler spans (steps, scheduler, policy,
// compaction, CPU ops; CUDA kernels and copies from CUPTI when recorded) as bars on one time
// axis, one row per (track, category), zoomed and panned along time with the mouse; hover names
// the span. Beside it the per-op statistics of the profiler's own summary (summarize_ops):
// count, total, mean, p50, p99 and share of step time, for the whole session or only the
// spans in view.
#include <cstdint>
#include <utility>
#include <vector>

#include <QWidget>

#include "profiler/event.h"

class QCheckBox;
class QCustomPlot;
class QLabel;
class QTableWidget;

namespace kvwb {

class OpTimeline : public QWidget {
  Q_OBJECT

 public:
  explicit OpTimeline(QWidget* parent = nullptr);

  void set_trace(Trace trace);
  const Trace& trace() const { return trace_; }
  // Rows: (track, category), CPU tracks first; the label a row shows.
  int rows() const { return static_cast<int>(rows_.size()); }
  QString row_label(int row) const;
  int drawn_spans() const;  // spans drawn over all rows
  // What the rows draw: a row's spans merged where they are closer than a pixel column of the
  // visible range (models/decimate.h merge_bars), so a dense hour of ops costs what the plot's
  // width can show; every span in view lies inside a drawn bar.
  std::vector<std::pair<double, double>> drawn_bars(int row) const;  // in ms
  int decimation_buckets() const;

  // The time axis in milliseconds since the trace's origin.
  void set_time_range(double from_ms, double to_ms);
  std::pair<double, double> time_range() const;
  void set_stats_in_view(bool in_view);  // statistics of the visible spans only
  // The span drawn at (time in ms, row), or null; and its tooltip.
  const Span* span_at(double t_ms, int row) const;
  QString hover_text(double t_ms, int row) const;

  QCustomPlot* plot() const { return plot_; }
  QTableWidget* table() const { return table_; }

 protected:
  void changeEvent(QEvent* event) override;

 private:
  struct Row {
    Track track;
    Category category;
    std::vector<size_t> spans;  // indices into trace_.spans, by start time
    std::vector<std::pair<double, double>> bars_ms;  // the spans as [start, end] in ms, same order
  };
  void draw_bars();  // the rows' bars for the visible range
  void rebuild();
  void fill_table();
  void apply_theme();

  Trace trace_;
  std::vector<Row> rows_;
  QCustomPlot* plot_ = nullptr;
  QTableWidget* table_ = nullptr;
  QCheckBox* in_view_ = nullptr;
  QLabel* steps_ = nullptr;
};

}  // namespace kvwb
