#include "ui/widgets/live_eviction_view.h"

#include <algorithm>
#include <set>

#include <QComboBox>
#include <QHBoxLayout>
#include <QSignalBlocker>
#include <QLabel>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/models/eviction_hover.h"
#include "ui/widgets/heatmap_plot.h"

namespace kvwb {

LiveEvictionView::LiveEvictionView(QWidget* parent, size_t max_snapshots)
    : QWidget(parent), max_snapshots_(std::max<size_t>(max_snapshots, 1)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  title_ = new QLabel(this);
  sequence_ = new QComboBox(this);
  sequence_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  sequence_->setToolTip(tr("The running sequence whose eviction map is shown"));
  connect(sequence_, &QComboBox::activated, this, [this] { redraw(); });
  bar->addWidget(title_);
  bar->addWidget(sequence_);
  bar->addStretch(1);
  layout->addLayout(bar);
  plot_ = new HeatmapPlot(tr("token position"), tr("snapshot"), QString(), this);
  plot_->set_categories(eviction_state_categories());
  plot_->set_hover_text([this](int position, int row, double v) {
    if (row < 0 || static_cast<size_t>(row) >= drawn_.steps.size()) return QString();
    // Live: no eviction scores or token text yet (the recorded session has both).
    return QString::fromStdString(
        eviction_hover_text(nullptr, nullptr, layer_, head_, position, drawn_.steps[static_cast<size_t>(row)], v));
  });
  layout->addWidget(plot_, 1);
  hide();
}

QString LiveEvictionView::sequence() const { return sequence_->currentText(); }

void LiveEvictionView::open(int layer, int head) {
  layer_ = layer;
  head_ = head;
  // The sequence shown is a traced one still running: the chosen one if the newest snapshot holds
  // its positions, else the first there (the first ever seen may have finished long ago).
  if (!snapshots_.empty()) {
    const std::vector<HeadRetention>& newest = snapshots_.back().heads;
    const std::string current = sequence().toStdString();
    const auto traced = [](const HeadRetention& h) { return !h.positions.empty(); };  // traced sequences only
    const bool running =
        std::ranges::any_of(newest, [&](const HeadRetention& h) { return traced(h) && h.request_id == current; });
    const auto first = std::ranges::find_if(newest, traced);
    if (!running && first != newest.end()) {
      const QSignalBlocker block(sequence_);
      sequence_->setCurrentIndex(sequence_->findText(QString::fromStdString(first->request_id)));
    }
  }
  show();
  redraw();
}

void LiveEvictionView::set_sequence(const QString& request_id) {
  const int i = sequence_->findText(request_id);
  if (i >= 0) sequence_->setCurrentIndex(i);
  redraw();
}

void LiveEvictionView::clear() {
  snapshots_.clear();
  protection_.from_step.clear();
  sequence_->clear();
  drawn_ = HeadTimeline{};
  redraw();
}

void LiveEvictionView::add_snapshot(const RetentionSnapshot& snapshot, const ProtectedSpan& protection) {
  snapshots_.push_back(snapshot);
  protection_.from_step.emplace_back(snapshot.step, protection);
  if (snapshots_.size() > max_snapshots_) {
    snapshots_.erase(snapshots_.begin());
    protection_.from_step.erase(protection_.from_step.begin());
  }
  // Sequences that were ever seen stay choosable; new ones are appended.
  std::set<std::string> ids;
  for (const HeadRetention& h : snapshot.heads) ids.insert(h.request_id);
  for (const std::string& id : ids) {
    if (sequence_->findText(QString::fromStdString(id)) < 0) sequence_->addItem(QString::fromStdString(id));
  }
  if (is_open()) redraw();
}

void LiveEvictionView::redraw() {
  if (!is_open()) return;
  const std::string request = sequence_->currentText().toStdString();
  drawn_ = snapshots_.empty() ? HeadTimeline{}
                              : head_timeline(snapshots_, request, layer_, head_, snapshots_.size() - 1, &protection_);
  title_->setText(tr("Live eviction map: layer %1, KV head %2, sequence").arg(layer_).arg(head_));
  plot_->set_cells(static_cast<int>(drawn_.positions), static_cast<int>(drawn_.steps.size()), drawn_.cells);
}

}  // namespace kvwb
