#include "ui/widgets/recorded_run_view.h"

#include <algorithm>
#include <cmath>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/models/eviction_hover.h"
#include "ui/widgets/heatmap_plot.h"
#include "ui/widgets/time_plots.h"

namespace kvwb {
namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

RecordedRunView::RecordedRunView(QWidget* parent) : QWidget(parent) { build(); }

void RecordedRunView::build() {
  // Time plots on the left, retention and eviction maps on the right.
  plots_ = new TimePlots(this);
  plots_->set_series(nullptr);
  retention_ = new HeatmapPlot(tr("KV head"), tr("layer"), tr("retained tokens"), this);
  retention_->set_scale_from_zero(true);
  retention_->setToolTip(tr("Click a cell to open that head's eviction map"));
  connect(retention_, &HeatmapPlot::cellClicked, this, [this](int head, int layer) { open_eviction_map(layer, head); });
  eviction_ = new HeatmapPlot(tr("token position"), tr("snapshot"), QString(), this);
  eviction_->set_categories(eviction_state_categories());
  eviction_->set_hover_text([this](int position, int row, double v) {
    if (!shown_ || row < 0) return QString();
    // One head over the snapshots (row = snapshot), or every head at the scrubbed one (row =
    // layer * kv_heads + head).
    const bool all_heads = eviction_mode_->currentIndex() == 1;
    const size_t snapshot = all_heads ? static_cast<size_t>(scrubber_->value()) : static_cast<size_t>(row);
    if (snapshot >= shown_->session.retention.size()) return QString();
    const int kv_heads = std::max(shown_->replay.kv_heads, 1);
    const int layer = all_heads ? row / kv_heads : eviction_layer_, head = all_heads ? row % kv_heads : eviction_head_;
    const int64_t step = shown_->session.retention[snapshot].step;
    const std::string request = sequence_->currentData().toString().toStdString();
    return q(eviction_hover_text(shown_->session, request, layer, head, position, step, v));
  });
  eviction_mode_ = new QComboBox(this);
  eviction_mode_->addItem(tr("eviction map: one head over the steps"));
  eviction_mode_->addItem(tr("eviction map: every head at this step"));
  eviction_mode_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(eviction_mode_, &QComboBox::activated, this, [this](int i) { set_all_heads(i == 1); });
  scrubber_ = new QSlider(Qt::Horizontal, this);
  scrubber_->setEnabled(false);
  connect(scrubber_, &QSlider::valueChanged, this, &RecordedRunView::scrub);
  step_label_ = new QLabel(this);
  sequence_ = new QComboBox(this);
  sequence_->setToolTip(tr("The batch mean, or one sequence"));
  sequence_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(sequence_, &QComboBox::activated, this, [this] { refresh_retention(); });
  value_ = new QComboBox(this);
  value_->addItem(tr("retained tokens"));
  value_->addItem(tr("fraction of context"));
  connect(value_, &QComboBox::activated, this, [this] { refresh_retention(); });
  auto* maps = new QWidget(this);
  auto* maps_layout = new QVBoxLayout(maps);
  maps_layout->setContentsMargins(0, 0, 0, 0);
  auto* map_bar = new QHBoxLayout;
  map_bar->addWidget(sequence_);
  map_bar->addWidget(value_);
  map_bar->addWidget(eviction_mode_);
  map_bar->addStretch(1);
  maps_layout->addLayout(map_bar);
  auto* scrub_bar = new QHBoxLayout;
  scrub_bar->addWidget(new QLabel(tr("Step:"), this));
  scrub_bar->addWidget(scrubber_, 1);
  scrub_bar->addWidget(step_label_);
  maps_layout->addLayout(scrub_bar);
  maps_layout->addWidget(retention_, 1);
  maps_layout->addWidget(eviction_, 1);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(plots_);
  split->addWidget(maps);
  split->setSizes({600, 420});
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(split);

}

void RecordedRunView::show_session(const LoadedSessionPtr& session, const LoadedSessionPtr& other) {
  shown_ = session;
  plots_->set_series(&shown_->replay.series);
  plots_->set_overlay(other ? &other->replay.series : nullptr, other ? tr(" (B #%1)").arg(other->session.info.id) : QString());
  plots_->set_following(true);
  plots_->refresh_now();
  sequence_->clear();
  sequence_->addItem(tr("batch mean"), QString());
  for (const std::string& id : shown_->replay.request_ids) sequence_->addItem(tr("sequence %1").arg(q(id)), q(id));
  const int snapshots = static_cast<int>(shown_->session.retention.size());
  scrubber_->setEnabled(snapshots > 0);
  {
    const QSignalBlocker block(scrubber_);
    scrubber_->setRange(0, std::max(snapshots - 1, 0));
    scrubber_->setValue(std::max(snapshots - 1, 0));
  }
  eviction_layer_ = eviction_head_ = -1;
  eviction_->set_cells(0, 0, {});
  refresh_retention();
}

void RecordedRunView::scrub(int snapshot) {
  if (!shown_) return;
  {
    const QSignalBlocker block(scrubber_);
    scrubber_->setValue(snapshot);
  }
  refresh_retention();
}

void RecordedRunView::set_sequence(const QString& request_id) {
  const int i = sequence_->findData(request_id);
  if (i >= 0) sequence_->setCurrentIndex(i);
  refresh_retention();
}

void RecordedRunView::set_fraction(bool fraction) {
  value_->setCurrentIndex(fraction ? 1 : 0);
  refresh_retention();
}

void RecordedRunView::refresh_retention() {
  if (!shown_ || shown_->session.retention.empty()) {
    retention_->set_cells(0, 0, {});
    step_label_->setText(tr("no retention snapshots"));
    return;
  }
  const size_t index = static_cast<size_t>(scrubber_->value());
  const std::string request = sequence_->currentData().toString().toStdString();
  const SessionReplay& r = shown_->replay;
  step_label_->setText(tr("step %1 (snapshot %2 of %3)")
                           .arg(shown_->session.retention[index].step)
                           .arg(index + 1)
                           .arg(shown_->session.retention.size()));
  if (value_->currentIndex() == 1) {
    retention_->set_cells(r.kv_heads, r.layers, retention_fraction(shown_->session, r, index, request));
  } else {
    const std::optional<RetentionSummary> s = replay_retention(shown_->session, r, index, request);
    retention_->set_cells(r.kv_heads, r.layers,
                          s ? s->mean_retained : std::vector<double>(static_cast<size_t>(r.layers * r.kv_heads), NAN));
  }
  draw_eviction_map();
}

void RecordedRunView::open_eviction_map(int layer, int head) {
  if (!shown_) return;
  if (sequence_->currentData().toString().isEmpty()) {
    // The batch mean has no single sequence: the first traced one (its map has the scores),
    // else the first seen.
    int index = -1;
    for (const EvictionMap& m : shown_->session.eviction_maps) {
      if ((index = sequence_->findData(q(m.request_id))) >= 0) break;
    }
    if (index < 0 && sequence_->count() > 1) index = 1;
    if (index < 0) return;
    sequence_->setCurrentIndex(index);
  }
  eviction_layer_ = layer;
  eviction_head_ = head;
  refresh_retention();  // the chosen sequence's retention map, and the eviction map
}

void RecordedRunView::set_all_heads(bool all_heads) {
  eviction_mode_->setCurrentIndex(all_heads ? 1 : 0);
  if (all_heads && eviction_layer_ < 0) {
    open_eviction_map(0, 0);  // picks a sequence when the batch mean is shown
    return;
  }
  refresh_retention();
}

void RecordedRunView::draw_eviction_map() {
  if (!shown_ || eviction_layer_ < 0) return;
  const std::string request = sequence_->currentData().toString().toStdString();
  if (eviction_mode_->currentIndex() == 1) {
    const HeadTimeline t = heads_at_snapshot(shown_->session, shown_->replay, request,
                                             static_cast<size_t>(scrubber_->value()), &shown_->replay.protection);
    eviction_->set_cells(static_cast<int>(t.positions), shown_->replay.layers * shown_->replay.kv_heads, t.cells);
    eviction_->plot()->xAxis->setLabel(tr("token position (sequence %1, step %2)").arg(q(request)).arg(t.steps.empty() ? -1 : t.steps[0]));
    eviction_->plot()->yAxis->setLabel(tr("head row (layer × KV heads + head)"));
    return;
  }
  eviction_->plot()->yAxis->setLabel(tr("snapshot"));
  const HeadTimeline t =
      head_timeline(shown_->session, request, eviction_layer_, eviction_head_, static_cast<size_t>(scrubber_->value()),
                    &shown_->replay.protection);
  eviction_->set_cells(static_cast<int>(t.positions), static_cast<int>(t.steps.size()), t.cells);
  eviction_->plot()->xAxis->setLabel(
      tr("token position (sequence %1, layer %2, KV head %3)").arg(q(request)).arg(eviction_layer_).arg(eviction_head_));
}

}  // namespace kvwb
