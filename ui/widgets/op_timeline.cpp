#include "ui/widgets/op_timeline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <QCheckBox>
#include <QEvent>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "profiler/op_summary.h"
#include "ui/models/decimate.h"
#include "ui/widgets/plot_theme.h"

namespace kvwb {
namespace {

constexpr double kNsPerMs = 1e6;

QString q(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

}  // namespace

OpTimeline::OpTimeline(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(160);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->axisRect()->setRangeDrag(Qt::Horizontal);
  plot_->axisRect()->setRangeZoom(Qt::Horizontal);
  plot_->xAxis->setLabel(tr("time since the first event (ms)"));
  plot_->setMouseTracking(true);
  plot_->setNotAntialiasedElements(QCP::aePlottables);
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
    const double t = plot_->xAxis->pixelToCoord(e->pos().x());
    const int row = static_cast<int>(std::lround(plot_->yAxis->pixelToCoord(e->pos().y())));
    const QString text = hover_text(t, row);
    if (text.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(e->globalPosition().toPoint(), text, plot_);
  });
  in_view_ = new QCheckBox(tr("Statistics of the spans in view"), this);
  steps_ = new QLabel(this);
  table_ = new QTableWidget(this);
  table_->setColumnCount(8);
  table_->setHorizontalHeaderLabels(
      {tr("op"), tr("category"), tr("count"), tr("total ms"), tr("mean µs"), tr("p50 µs"), tr("p99 µs"), tr("% of step")});
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSortingEnabled(true);
  // Recomputing the statistics on every frame of a drag is wasted work: once it settles.
  auto* settle = new QTimer(this);
  settle->setSingleShot(true);
  settle->setInterval(150);
  connect(settle, &QTimer::timeout, this, &OpTimeline::fill_table);
  connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, settle] {
    draw_bars();
    if (in_view_->isChecked()) settle->start();
  });
  connect(in_view_, &QCheckBox::toggled, this, &OpTimeline::fill_table);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(plot_);
  auto* bottom = new QWidget(this);
  auto* bottom_layout = new QVBoxLayout(bottom);
  bottom_layout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  bar->addWidget(in_view_);
  bar->addWidget(steps_, 1);
  bottom_layout->addLayout(bar);
  bottom_layout->addWidget(table_, 1);
  split->addWidget(bottom);
  layout->addWidget(split);
  apply_theme();
}

void OpTimeline::set_trace(Trace trace) {
  trace_ = std::move(trace);
  rebuild();
  fill_table();
}

QString OpTimeline::row_label(int row) const {
  if (row < 0 || row >= rows()) return {};
  const Row& r = rows_[static_cast<size_t>(row)];
  return QStringLiteral("%1 · %2").arg(QString::fromStdString(trace_.track_name(r.track)), q(category_name(r.category)));
}

int OpTimeline::drawn_spans() const {
  int n = 0;
  for (const Row& r : rows_) n += static_cast<int>(r.spans.size());
  return n;
}

void OpTimeline::rebuild() {
  plot_->clearGraphs();
  rows_.clear();
  std::map<std::pair<Track, Category>, size_t> index;
  for (size_t i = 0; i < trace_.spans.size(); ++i) {
    const Span& s = trace_.spans[i];
    index.emplace(std::make_pair(s.track, s.category), 0);
  }
  for (auto& [key, row] : index) {
    row = rows_.size();
    rows_.push_back({key.first, key.second, {}});
  }
  for (size_t i = 0; i < trace_.spans.size(); ++i) {
    const Span& s = trace_.spans[i];
    rows_[index.at({s.track, s.category})].spans.push_back(i);
  }
  const PlotColors colors = plot_colors(palette());
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  double end_ms = 0;
  for (size_t r = 0; r < rows_.size(); ++r) {
    Row& row = rows_[r];
    std::sort(row.spans.begin(), row.spans.end(),
              [&](size_t a, size_t b) { return trace_.spans[a].start_ns < trace_.spans[b].start_ns; });
    const double y = static_cast<double>(r);
    row.bars_ms.reserve(row.spans.size());
    for (size_t i : row.spans) {
      const Span& sp = trace_.spans[i];
      const double a = static_cast<double>(sp.start_ns - trace_.origin_ns) / kNsPerMs;
      const double b = static_cast<double>(sp.end_ns - trace_.origin_ns) / kNsPerMs;
      row.bars_ms.emplace_back(a, b);
      end_ms = std::max(end_ms, b);
    }
    QCPGraph* g = plot_->addGraph();
    g->setAdaptiveSampling(false);  // it would merge bars across the NaN gaps
    g->setPen(QPen(colors.series[static_cast<int>(row.category) % 6], 12, Qt::SolidLine, Qt::FlatCap));
    g->setName(row_label(static_cast<int>(r)));
    ticker->addTick(y, row_label(static_cast<int>(r)));
  }
  plot_->yAxis->setTicker(ticker);
  plot_->yAxis->setRange(-0.7, std::max<double>(static_cast<double>(rows_.size()) - 0.3, 0.3));
  plot_->yAxis->setRangeReversed(true);  // steps on top, the ops they contain below
  plot_->xAxis->setRange(0, std::max(end_ms, 1e-3) * 1.01);
  draw_bars();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

int OpTimeline::decimation_buckets() const { return std::max(plot_->axisRect()->width(), 64); }

std::vector<std::pair<double, double>> OpTimeline::drawn_bars(int row) const {
  std::vector<std::pair<double, double>> out;
  if (row < 0 || row >= plot_->graphCount()) return out;
  const QCPGraph* g = plot_->graph(row);
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) {
    if (std::isnan(it->value)) continue;
    const double a = it->key;
    ++it;
    if (it == g->data()->constEnd()) break;
    out.emplace_back(a, it->key);
  }
  return out;
}

void OpTimeline::draw_bars() {
  const QCPRange range = plot_->xAxis->range();
  const int buckets = decimation_buckets();
  // One thick line per row, broken by NaN between bars: a bar per merged run of spans, drawn in one pass.
  QVector<QCPGraphData> points;
  for (size_t r = 0; r < rows_.size() && static_cast<int>(r) < plot_->graphCount(); ++r) {
    const double y = static_cast<double>(r);
    points.clear();
    for (const auto& [a, b] : merge_bars(rows_[r].bars_ms, range.lower, range.upper, buckets)) {
      points.append(QCPGraphData(a, y));
      points.append(QCPGraphData(b, y));
      points.append(QCPGraphData(b, std::numeric_limits<double>::quiet_NaN()));
    }
    plot_->graph(static_cast<int>(r))->data()->set(points, true);
  }
}

void OpTimeline::set_time_range(double from_ms, double to_ms) {
  plot_->xAxis->setRange(from_ms, to_ms);
  plot_->replot(QCustomPlot::rpQueuedReplot);
  if (in_view_->isChecked()) fill_table();
}

std::pair<double, double> OpTimeline::time_range() const {
  return {plot_->xAxis->range().lower, plot_->xAxis->range().upper};
}

void OpTimeline::set_stats_in_view(bool in_view) {
  in_view_->setChecked(in_view);
  fill_table();
}

const Span* OpTimeline::span_at(double t_ms, int row) const {
  if (row < 0 || row >= rows()) return nullptr;
  const int64_t t = trace_.origin_ns + static_cast<int64_t>(t_ms * kNsPerMs);
  const std::vector<size_t>& spans = rows_[static_cast<size_t>(row)].spans;
  // The latest span starting at or before t that still runs at t; spans of one row rarely nest
  // (one category on one track), so a short look back finds it.
  auto it = std::upper_bound(spans.begin(), spans.end(), t,
                             [&](int64_t v, size_t i) { return v < trace_.spans[i].start_ns; });
  for (int looked = 0; it != spans.begin() && looked < 64; ++looked) {
    --it;
    if (trace_.spans[*it].end_ns >= t) return &trace_.spans[*it];
  }
  return nullptr;
}

QString OpTimeline::hover_text(double t_ms, int row) const {
  const Span* s = span_at(t_ms, row);
  if (s == nullptr) return {};
  return tr("%1 (%2): %3 µs, step %4")
      .arg(QString::fromStdString(s->name), q(category_name(s->category)))
      .arg(static_cast<double>(s->duration_ns()) / 1e3, 0, 'f', 1)
      .arg(s->step);
}

void OpTimeline::fill_table() {
  Trace view;
  if (in_view_->isChecked()) {
    const auto [from, to] = time_range();
    const int64_t a = trace_.origin_ns + static_cast<int64_t>(from * kNsPerMs);
    const int64_t b = trace_.origin_ns + static_cast<int64_t>(to * kNsPerMs);
    view.origin_ns = trace_.origin_ns;
    for (const Span& s : trace_.spans) {
      if (s.start_ns >= a && s.end_ns <= b) view.spans.push_back(s);
    }
  }
  const OpSummary summary = summarize_ops(in_view_->isChecked() ? view : trace_);
  steps_->setText(tr("%1 steps, %2 ms of step time").arg(summary.steps).arg(static_cast<double>(summary.step_total_ns) / kNsPerMs, 0, 'f', 2));
  table_->setSortingEnabled(false);
  table_->setRowCount(static_cast<int>(summary.rows.size()));
  for (size_t i = 0; i < summary.rows.size(); ++i) {
    const OpStats& o = summary.rows[i];
    const int r = static_cast<int>(i);
    auto number = [&](int column, double v, int decimals) {
      auto* item = new QTableWidgetItem;
      item->setData(Qt::DisplayRole, QString::number(v, 'f', decimals).toDouble());
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, column, item);
    };
    table_->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(o.name)));
    table_->setItem(r, 1, new QTableWidgetItem(q(category_name(o.category))));
    number(2, static_cast<double>(o.count), 0);
    number(3, static_cast<double>(o.total_ns) / kNsPerMs, 3);
    number(4, o.mean_ns / 1e3, 1);
    number(5, static_cast<double>(o.p50_ns) / 1e3, 1);
    number(6, static_cast<double>(o.p99_ns) / 1e3, 1);
    number(7, 100.0 * o.share_of_step, 1);
  }
  table_->setSortingEnabled(true);
}

void OpTimeline::changeEvent(QEvent* event) {
  if (event->type() == QEvent::PaletteChange) apply_theme();
  QWidget::changeEvent(event);
}

void OpTimeline::apply_theme() {
  const PlotColors colors = plot_colors(palette());
  apply_plot_theme(*plot_, colors);
  for (size_t r = 0; r < rows_.size() && static_cast<int>(r) < plot_->graphCount(); ++r) {
    plot_->graph(static_cast<int>(r))->setPen(
        QPen(colors.series[static_cast<int>(rows_[r].category) % 6], 12, Qt::SolidLine, Qt::FlatCap));
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace kvwb
