#pragma once
// The live eviction map of the Live tab: clicking a cell of the live retention map opens that
// (layer, KV head) here, for one running sequence, as token position x retention snapshot
// (evicted, kept, kept because protected), growing a row with every retention snapshot the
// engine sends. Built from the same HeadTimeline as a recorded session's map, so the two read
// alike. Keeps the newest `max_snapshots` snapshots.
#include <cstdint>
#include <deque>
#include <string>

#include <QWidget>

#include "engine/runtime/policy.h"
#include "sessions/session_types.h"
#include "ui/models/session_replay.h"

class QComboBox;
class QLabel;

namespace kvwb {

class HeatmapPlot;

class LiveEvictionView : public QWidget {
  Q_OBJECT

 public:
  explicit LiveEvictionView(QWidget* parent = nullptr, size_t max_snapshots = 512);

  void open(int layer, int head);  // shows the view; the first running sequence unless one is chosen
  void set_sequence(const QString& request_id);
  // A retention snapshot of the live run and what its policy protects at that step.
  void add_snapshot(const RetentionSnapshot& snapshot, const ProtectedSpan& protection);
  void clear();  // a new run

  bool is_open() const { return layer_ >= 0; }
  int layer() const { return layer_; }
  int head() const { return head_; }
  QString sequence() const;
  size_t snapshots() const { return snapshots_.size(); }
  HeatmapPlot* plot() const { return plot_; }
  // The cells drawn (HeadTimeline values), rows = the kept snapshots.
  const HeadTimeline& drawn() const { return drawn_; }

 private:
  void redraw();

  size_t max_snapshots_;
  std::vector<RetentionSnapshot> snapshots_;
  ProtectionSchedule protection_;
  HeadTimeline drawn_;
  HeatmapPlot* plot_ = nullptr;
  QComboBox* sequence_ = nullptr;
  QLabel* title_ = nullptr;
  int layer_ = -1, head_ = -1;
};

}  // namespace kvwb
