#pragma once
// The Sessions tab's view of one recorded run: its time plots (with a second session overlaid
// when two are compared) beside the layer x KV-head retention map, scrubbed through the
// retention snapshots for the batch or one sequence, and a clicked head's eviction map (that head
// over the snapshots, or every head at the scrubbed one). The session browser (session_panel.h)
// loads the session and hands it here.
#include <QWidget>

#include "ui/controller/session_loader.h"

class QComboBox;
class QLabel;
class QSlider;

namespace kvwb {

class HeatmapPlot;
class TimePlots;

class RecordedRunView : public QWidget {
  Q_OBJECT

 public:
  explicit RecordedRunView(QWidget* parent = nullptr);

  // `session` drawn, `other` (may be null) overlaid in the time plots.
  void show_session(const LoadedSessionPtr& session, const LoadedSessionPtr& other);

  void scrub(int snapshot);                     // the retention map at this snapshot
  void set_sequence(const QString& request_id);  // empty: the batch mean
  void set_fraction(bool fraction);             // retained tokens or fraction of the context
  void open_eviction_map(int layer, int head);  // what clicking a retention cell does
  // The eviction map as every head of the sequence at the scrubbed step (position x head),
  // instead of the clicked head through the steps (position x step).
  void set_all_heads(bool all_heads);

  TimePlots* plots() const { return plots_; }
  HeatmapPlot* retention_plot() const { return retention_; }
  HeatmapPlot* eviction_plot() const { return eviction_; }

 private:
  void build();
  void refresh_retention();
  void draw_eviction_map();

  LoadedSessionPtr shown_;
  TimePlots* plots_ = nullptr;
  HeatmapPlot* retention_ = nullptr;
  HeatmapPlot* eviction_ = nullptr;
  QSlider* scrubber_ = nullptr;
  QLabel* step_label_ = nullptr;
  QComboBox *sequence_ = nullptr, *value_ = nullptr, *eviction_mode_ = nullptr;
  int eviction_layer_ = -1, eviction_head_ = -1;
};

}  // namespace kvwb
