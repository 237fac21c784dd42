#include "ui/widgets/time_plots.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTimer>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/models/decimate.h"
#include "ui/widgets/plot_theme.h"

namespace kvwb {
namespace {

struct GraphSpec {
  TimePlots::PlotId plot;
  TimeSeries RunSeries::*series;
  const char* name;
  bool right_axis;
  int color;
  Qt::PenStyle style;
};

// Graph order inside a plot is the order here (graph_points() indexes it).
const GraphSpec kGraphs[] = {
    {TimePlots::Throughput, &RunSeries::generated_per_second, "generated tok/s", false, 0, Qt::SolidLine},
    {TimePlots::Throughput, &RunSeries::total_per_second, "total tok/s", false, 1, Qt::SolidLine},
    {TimePlots::Batch, &RunSeries::running, "running", false, 2, Qt::SolidLine},
    {TimePlots::Batch, &RunSeries::waiting, "waiting", false, 3, Qt::SolidLine},
    {TimePlots::Memory, &RunSeries::blocks_used, "KV blocks used", false, 0, Qt::SolidLine},
    {TimePlots::Memory, &RunSeries::blocks_total, "KV pool (blocks)", false, 3, Qt::DashLine},
    {TimePlots::Accuracy, &RunSeries::accuracy, "accuracy", false, 2, Qt::SolidLine},
    {TimePlots::Accuracy, &RunSeries::fraction_of_full, "of full-KV accuracy", false, 4, Qt::SolidLine},
};

// Task lines take the hues the overall accuracy lines (2, 4) do not; a fifth task repeats a
// hue with a dotted line.
const int kTaskColors[] = {0, 1, 3, 5};

const char* const kAxisLabels[TimePlots::PlotCount] = {"tokens / s", "sequences", "KV blocks", "accuracy"};

}  // namespace

TimePlots::TimePlots(QWidget* parent) : QWidget(parent) {
  build();
  timer_ = new QTimer(this);
  connect(timer_, &QTimer::timeout, this, &TimePlots::tick);
  set_frame_rate(30);
}

TimePlots::~TimePlots() = default;

void TimePlots::build() {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);

  auto* bar = new QHBoxLayout;
  follow_box_ = new QCheckBox(tr("Follow"), this);
  follow_box_->setChecked(true);
  follow_box_->setToolTip(tr("Keep the newest data in view (drag or zoom a plot to look back)"));
  connect(follow_box_, &QCheckBox::toggled, this, &TimePlots::set_following);
  window_box_ = new QComboBox(this);
  window_box_->addItem(tr("last 30 s"), 30.0);
  window_box_->addItem(tr("last 1 min"), 60.0);
  window_box_->addItem(tr("last 5 min"), 300.0);
  window_box_->addItem(tr("last 15 min"), 900.0);
  window_box_->addItem(tr("whole run"), 0.0);
  window_box_->setCurrentIndex(4);  // the whole run: decimated history keeps it cheap
  connect(window_box_, &QComboBox::currentIndexChanged, this,
          [this](int i) { set_window_seconds(window_box_->itemData(i).toDouble()); });
  auto* reset = new QPushButton(tr("Reset view"), this);
  connect(reset, &QPushButton::clicked, this, [this] {
    range_dirty_ = true;
    set_following(true);
    refresh_now();
  });
  bar->addWidget(new QLabel(tr("Time axis:"), this));
  bar->addWidget(window_box_);
  bar->addWidget(follow_box_);
  bar->addWidget(reset);
  bar->addStretch(1);
  layout->addLayout(bar);

  for (int id = 0; id < PlotCount; ++id) {
    auto* p = new QCustomPlot(this);
    p->setMinimumHeight(110);
    p->setNoAntialiasingOnDrag(true);
    // Live lines redraw 30 times a second: fast polylines, no antialiasing of the data.
    p->setPlottingHints(QCP::phFastPolylines | QCP::phCacheLabels);
    p->setNotAntialiasedElements(QCP::aePlottables | QCP::aeItems);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    p->axisRect()->setRangeDrag(Qt::Horizontal);
    p->axisRect()->setRangeZoom(Qt::Horizontal);
    p->yAxis->setLabel(tr(kAxisLabels[id]));
    p->xAxis->setLabel(id == PlotCount - 1 ? tr("time since start (s)") : QString());
    p->legend->setVisible(true);
    QFont small = p->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    p->legend->setFont(small);
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignLeft | Qt::AlignTop);
    p->yAxis->setRange(0, 1);
    // Dragging or zooming means the user wants to look somewhere: stop following.
    connect(p, &QCustomPlot::mousePress, this, [this] { set_following(false); });
    connect(p, &QCustomPlot::mouseWheel, this, [this] { set_following(false); });
    connect(p->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, &TimePlots::sync_time_axis);
    connect(p, &QCustomPlot::beforeReplot, this, [this] {
      replot_wall_start_ = wall_clock_ms();
      replot_cpu_start_ = thread_cpu_ms();
    });
    connect(p, &QCustomPlot::afterReplot, this, [this] {
      pending_wall_ms_ += wall_clock_ms() - replot_wall_start_;
      pending_cpu_ms_ += thread_cpu_ms() - replot_cpu_start_;
    });
    plots_[id] = p;
    layout->addWidget(p, 1);
  }
  // The right axis of the memory plot is the same scale in MiB (set in update_ranges).
  plots_[Memory]->yAxis2->setVisible(true);
  plots_[Memory]->yAxis2->setLabel(tr("MiB"));
  plots_[Accuracy]->yAxis->setRange(0, 1.05);
  // The overall lines and one per task: the legend in rows of three, not one tall column.
  plots_[Accuracy]->legend->setFillOrder(QCPLayoutGrid::foRowsFirst);
  plots_[Accuracy]->legend->setWrap(3);

  // The main series' graphs first (graph_points() indexes them), then the overlay's, which stay
  // out of the legend until an overlay is set.
  for (bool overlay : {false, true}) {
    for (const GraphSpec& g : kGraphs) {
      QCustomPlot* p = plots_[g.plot];
      QCPGraph* graph = p->addGraph(p->xAxis, g.right_axis ? p->yAxis2 : p->yAxis);
      graph->setName(tr(g.name));
      graph->setAdaptiveSampling(true);
      if (overlay) graph->removeFromLegend();
      bindings_.push_back({g.plot, g.series, g.right_axis, overlay, graph, g.color,
                           overlay ? Qt::DashDotLine : g.style});
    }
  }
  apply_theme();
}

void TimePlots::set_series(const RunSeries* series) {
  series_ = series;
  for (Binding& b : bindings_) b.revision = ~uint64_t{0};
  drawn_marks_ = -1;  // force a rebuild of the marks
  refresh_now();
}

void TimePlots::set_overlay(const RunSeries* series, const QString& suffix) {
  overlay_ = series;
  for (Binding& b : bindings_) {
    if (!b.overlay) continue;
    b.revision = ~uint64_t{0};
    b.graph->removeFromLegend();
    if (series != nullptr) {
      b.graph->setName(b.graph->name().section(QStringLiteral(" ("), 0, 0) + suffix);
      b.graph->addToLegend();
    }
  }
  range_dirty_ = true;
  refresh_now();
}

void TimePlots::set_frame_rate(int hz) { timer_->start(std::max(1, 1000 / std::clamp(hz, 1, 120))); }

void TimePlots::set_following(bool follow) {
  if (follow == following_) return;
  following_ = follow;
  {
    const QSignalBlocker block(follow_box_);
    follow_box_->setChecked(follow);
  }
  emit followingChanged(follow);
  range_dirty_ = true;
  if (follow) refresh_now();
}

void TimePlots::set_window_seconds(double seconds) {
  window_seconds_ = std::max(0.0, seconds);
  range_dirty_ = true;
  int item = window_box_->findData(window_seconds_);
  if (item < 0) {
    window_box_->addItem(tr("last %1 s").arg(window_seconds_), window_seconds_);
    item = window_box_->count() - 1;
  }
  if (item != window_box_->currentIndex()) {
    const QSignalBlocker block(window_box_);
    window_box_->setCurrentIndex(item);
  }
  set_following(true);
  refresh_now();
}

int TimePlots::graph_points(PlotId id, int graph) const {
  QCustomPlot* p = plots_[id];
  if (graph < 0 || graph >= p->graphCount()) return 0;
  return p->graph(graph)->data()->size();
}

void TimePlots::refresh_now() { tick(); }

void TimePlots::changeEvent(QEvent* event) {
  if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) {
    theme_dirty_ = true;
  }
  QWidget::changeEvent(event);
}

void TimePlots::apply_theme() {
  const PlotColors colors = plot_colors(palette());
  for (QCustomPlot* p : plots_) apply_plot_theme(*p, colors);
  for (const Binding& b : bindings_) {
    // The overlay keeps each line's hue (the pairs read together), shifted in lightness.
    const QColor c = colors.series[b.color];
    b.graph->setPen(QPen(b.overlay ? (colors.dark ? c.lighter(140) : c.darker(160)) : c,
                         b.plot == Accuracy && !b.overlay ? 2.4 : 1.6, b.style));
  }
  for (const TaskLine& line : task_lines_) style_task_line(line, colors);
  for (QCPAbstractItem* item : mark_items_) {
    if (auto* line = qobject_cast<QCPItemStraightLine*>(item)) line->setPen(QPen(colors.mark, 1, Qt::DashLine));
    if (auto* text = qobject_cast<QCPItemText*>(item)) text->setColor(colors.mark);
  }
  theme_dirty_ = false;
}

void TimePlots::record_frame() {
  if (!frame_pending_) return;
  frames_.add_frame(pending_wall_ms_, pending_cpu_ms_);
  frame_pending_ = false;
}

void TimePlots::tick() {
  record_frame();  // the previous tick's replots have run by now
  const double wall_start = wall_clock_ms(), cpu_start = thread_cpu_ms();
  frames_.add_tick(wall_start);
  bool changed = false;
  if (theme_dirty_) {
    apply_theme();
    changed = true;
  }
  changed |= update_data();
  changed |= update_task_lines();
  changed |= update_marks();
  if ((changed || range_dirty_) && series_ != nullptr && following_) {
    update_ranges();
    changed = true;
  }
  range_dirty_ = false;
  if (!changed) return;
  pending_wall_ms_ = wall_clock_ms() - wall_start;
  pending_cpu_ms_ = thread_cpu_ms() - cpu_start;
  frame_pending_ = true;
  for (QCustomPlot* p : plots_) p->replot(QCustomPlot::rpQueuedReplot);
}

bool TimePlots::update_data() {
  bool changed = false;
  QVector<QCPGraphData> points;
  for (Binding& b : bindings_) {
    QCPGraph* graph = b.graph;
    const RunSeries* source = b.overlay ? overlay_ : series_;
    if (source == nullptr) {
      if (b.revision != 0) graph->data()->clear();
      changed |= b.revision != 0;
      b.revision = 0;
      continue;
    }
    const TimeSeries& s = source->*b.series;
    if (s.revision() == b.revision) continue;
    b.revision = s.revision();
    // Only what the visible range's pixel columns can show: min and max per column.
    const auto [from, to] = following_ && series_ != nullptr ? followed_range()
                                                             : std::pair(graph->keyAxis()->range().lower, graph->keyAxis()->range().upper);
    const DecimatedSeries d = decimate_min_max(s.keys(), s.values(), from, to, decimation_buckets(b.plot));
    points.resize(static_cast<int>(d.keys.size()));
    for (size_t i = 0; i < d.keys.size(); ++i) points[static_cast<int>(i)] = QCPGraphData(d.keys[i], d.values[i]);
    graph->data()->set(points, true);
    changed = true;
  }
  return changed;
}

void TimePlots::style_task_line(const TaskLine& line, const PlotColors& colors) {
  const int n = static_cast<int>(std::size(kTaskColors));
  const Qt::PenStyle style = line.fraction ? Qt::DashLine : (line.color >= n ? Qt::DotLine : Qt::SolidLine);
  line.graph->setPen(QPen(colors.series[kTaskColors[line.color % n]], 1.0, style));
}

bool TimePlots::update_task_lines() {
  bool changed = false;
  QCustomPlot* p = plots_[Accuracy];
  // A new run (or no series): the tasks' lines go with it.
  const size_t tasks = series_ == nullptr ? 0 : series_->task_accuracy.size();
  if (tasks < static_cast<size_t>(std::count_if(task_lines_.begin(), task_lines_.end(), [](const TaskLine& l) { return !l.fraction; }))) {
    for (const TaskLine& line : task_lines_) p->removeGraph(line.graph);
    task_lines_.clear();
    changed = true;
  }
  if (series_ == nullptr) return changed;
  int task_index = 0;
  for (const auto& [task, accuracy] : series_->task_accuracy) {
    for (bool fraction : {false, true}) {
      const auto& source = fraction ? series_->task_fraction_of_full : series_->task_accuracy;
      auto s = source.find(task);
      if (s == source.end()) continue;
      auto line = std::find_if(task_lines_.begin(), task_lines_.end(),
                               [&](const TaskLine& l) { return l.task == task && l.fraction == fraction; });
      if (line == task_lines_.end()) {
        QCPGraph* graph = p->addGraph(p->xAxis, p->yAxis);
        const QString name = QString::fromStdString(task.empty() ? std::string("(no task)") : task);
        graph->setName(fraction ? tr("%1: of full").arg(name) : name);
        if (fraction) graph->removeFromLegend();  // the task's dashed twin: its colour names it
        task_lines_.push_back({task, fraction, graph, task_index});
        style_task_line(task_lines_.back(), plot_colors(palette()));
        line = task_lines_.end() - 1;
      }
      if (line->revision == s->second.revision()) continue;
      line->revision = s->second.revision();
      QVector<QCPGraphData> points;
      for (size_t i = 0; i < s->second.size(); ++i) points.append(QCPGraphData(s->second.keys()[i], s->second.values()[i]));
      line->graph->data()->set(points, true);
      changed = true;
    }
    ++task_index;
  }
  return changed;
}

int TimePlots::task_points(const std::string& task, bool fraction) const {
  for (const TaskLine& line : task_lines_) {
    if (line.task == task && line.fraction == fraction) return line.graph->data()->size();
  }
  return -1;
}

bool TimePlots::update_marks() {
  const int count = series_ == nullptr ? 0 : static_cast<int>(series_->marks.size());
  const double last = count > 0 ? series_->marks.back().t : -1;
  if (count == drawn_marks_ && last == drawn_last_mark_) return false;
  for (QCPAbstractItem* item : mark_items_) item->parentPlot()->removeItem(item);
  mark_items_.clear();
  const PlotColors colors = plot_colors(palette());
  for (int i = 0; i < count; ++i) {
    const ConfigMark& m = series_->marks[static_cast<size_t>(i)];
    for (QCustomPlot* p : plots_) {
      auto* line = new QCPItemStraightLine(p);
      line->point1->setCoords(m.t, 0);
      line->point2->setCoords(m.t, 1);
      line->setPen(QPen(colors.mark, 1, Qt::DashLine));
      line->setSelectable(false);
      mark_items_.push_back(line);
    }
    auto* label = new QCPItemText(plots_[Throughput]);
    label->position->setTypeX(QCPItemPosition::ptPlotCoords);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(m.t, 0.02);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    QString text = QString::fromStdString(m.text);
    if (text.size() > 60) text = text.left(57) + "...";
    label->setText(QStringLiteral(" step %1: %2").arg(m.step).arg(text));
    label->setColor(colors.mark);
    label->setClipToAxisRect(true);
    label->setSelectable(false);
    mark_items_.push_back(label);
  }
  drawn_marks_ = count;
  drawn_last_mark_ = last;
  return true;
}

int TimePlots::decimation_buckets(PlotId id) const {
  // Offscreen or not laid out yet, a plot may report no width: a floor keeps the shape.
  return std::max(plots_[id]->axisRect()->width(), 64);
}

std::pair<double, double> TimePlots::followed_range() const {
  const double end = std::max({series_->last_time(), overlay_ ? overlay_->last_time() : 0.0, 1e-3});
  const double begin = window_seconds_ > 0 ? std::max(0.0, end - window_seconds_) : 0.0;
  return {begin, end + (end - begin) * 0.02};
}

void TimePlots::update_ranges() {
  const auto [begin, shown_end] = followed_range();
  const double end = std::max({series_->last_time(), overlay_ ? overlay_->last_time() : 0.0, 1e-3});
  syncing_ = true;
  for (QCustomPlot* p : plots_) p->xAxis->setRange(begin, shown_end);
  syncing_ = false;
  // Value axes fit what is visible; accuracy stays on [0, 1] unless the fraction passes it.
  std::vector<double> top(PlotCount * 2, 0.0);
  for (const Binding& b : bindings_) {
    const RunSeries* source = b.overlay ? overlay_ : series_;
    if (source == nullptr) continue;
    double& t = top[static_cast<size_t>(b.plot * 2 + (b.right_axis ? 1 : 0))];
    t = std::max(t, (source->*b.series).max_in(begin, end, 0.0));
  }
  for (const auto& [task, fraction] : series_->task_fraction_of_full) {
    top[Accuracy * 2] = std::max(top[Accuracy * 2], fraction.max_in(begin, end, 0.0));
  }
  for (int id = 0; id < PlotCount; ++id) {
    QCustomPlot* p = plots_[id];
    const double left = top[static_cast<size_t>(id * 2)];
    const double upper = id == Accuracy ? std::max(1.05, left * 1.05) : std::max(1.0, left * 1.12);
    p->yAxis->setRange(-0.02 * upper, upper);  // a line at zero stays visible above the axis
  }
  // KV bytes are blocks times a fixed block size: the MiB axis is the blocks axis rescaled.
  const StepPoint last = series_->last_point();
  if (last.blocks_used > 0) mib_per_block_ = static_cast<double>(last.kv_bytes_used) / last.blocks_used / (1024.0 * 1024.0);
  // Bytes on the axes, tokens beside them on hover (a block's tokens vary with eviction).
  plots_[Memory]->setToolTip(QString::fromStdString(kv_memory_text(last)));
  const QCPRange blocks = plots_[Memory]->yAxis->range();
  plots_[Memory]->yAxis2->setRange(blocks.lower * mib_per_block_, blocks.upper * mib_per_block_);
}

void TimePlots::sync_time_axis(const QCPRange& range) {
  if (syncing_) return;
  for (Binding& b : bindings_) b.revision = ~uint64_t{0};  // decimate again for the new range (next tick)
  syncing_ = true;
  for (QCustomPlot* p : plots_) {
    if (p->xAxis->range() != range) {
      p->xAxis->setRange(range);
      p->replot(QCustomPlot::rpQueuedReplot);
    }
  }
  syncing_ = false;
}

}  // namespace kvwb
