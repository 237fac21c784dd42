#include "ui/widgets/frontier_plot.h"

#include <algorithm>
#include <cmath>

#include <QEvent>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "run/sweep/sweep.h"
#include "ui/widgets/plot_theme.h"

namespace kvwb {

FrontierPlot::FrontierPlot(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(200);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom | QCP::iSelectPlottables);
  plot_->legend->setVisible(true);
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
  layout->addWidget(plot_);
  connect(plot_, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable* p, int index, QMouseEvent*) {
    const auto it = rows_of_.find(p);
    if (it != rows_of_.end() && index >= 0 && index < static_cast<int>(it->second.size())) {
      emit pointClicked(it->second[static_cast<size_t>(index)]);
    }
  });
  redraw();
}

FrontierPlot::~FrontierPlot() = default;

void FrontierPlot::set_analysis(std::shared_ptr<const SweepAnalysis> analysis) {
  analysis_ = std::move(analysis);
  redraw();
}

int FrontierPlot::points_drawn() const {
  int n = 0;
  for (const auto& [graph, rows] : rows_of_) n += static_cast<int>(rows.size());
  return n;
}

int FrontierPlot::frontier_points() const {
  int n = 0;
  if (!analysis_) return 0;
  for (const SweepRow& r : analysis_->rows) n += r.frontier ? 1 : 0;
  return n;
}

void FrontierPlot::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) redraw();
}

void FrontierPlot::redraw() {
  const PlotColors colors = plot_colors(palette());
  plot_->clearPlottables();
  plot_->clearItems();
  rows_of_.clear();
  static const SweepAnalysis kEmpty;
  const SweepAnalysis& analysis = analysis_ ? *analysis_ : kEmpty;
  plot_->xAxis->setLabel(tr("%1 (full KV = 1)").arg(QString::fromStdString(analysis.accuracy_basis)));
  plot_->yAxis->setLabel(tr("total tok/s"));

  std::map<std::string, QCPGraph*> by_policy;
  double max_tps = 1, min_acc = analysis.min_accuracy, max_acc = 1;
  std::vector<std::pair<double, double>> frontier;
  for (size_t i = 0; i < analysis.rows.size(); ++i) {
    const SweepRow& r = analysis.rows[i];
    if (std::isnan(r.accuracy)) continue;
    const double tps = r.measured.summary.total_tokens_per_second;
    QCPGraph*& g = by_policy[r.point.config.policy.name];
    if (g == nullptr) {
      g = plot_->addGraph();
      g->setName(QString::fromStdString(r.point.config.policy.name));
      g->setLineStyle(QCPGraph::lsNone);
      const QColor c = colors.series[(by_policy.size() - 1) % 6];
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 8));
      g->setSelectable(QCP::stSingleData);
    }
    g->addData(r.accuracy, tps);
    rows_of_[g].push_back(static_cast<int>(i));
    if (r.frontier) frontier.emplace_back(r.accuracy, tps);
    if (analysis.recommended && *analysis.recommended == i) {
      QCPGraph* ring = plot_->addGraph();
      ring->setName(tr("recommended"));
      ring->setLineStyle(QCPGraph::lsNone);
      ring->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(colors.mark, 2), Qt::NoBrush, 16));
      ring->addData(r.accuracy, tps);
      ring->setSelectable(QCP::stNone);
    }
    max_tps = std::max(max_tps, tps);
    min_acc = std::min(min_acc, r.accuracy);
    max_acc = std::max(max_acc, r.accuracy);
  }
  std::sort(frontier.begin(), frontier.end());
  if (!frontier.empty()) {
    QCPGraph* line = plot_->addGraph();
    line->setName(tr("Pareto frontier"));
    QPen pen(colors.foreground, 1, Qt::DashLine);
    line->setPen(pen);
    line->setSelectable(QCP::stNone);
    for (const auto& [acc, tps] : frontier) line->addData(acc, tps);
  }
  auto* floor = new QCPItemStraightLine(plot_);
  floor->setPen(QPen(colors.mark, 1, Qt::DotLine));
  floor->point1->setCoords(analysis.min_accuracy, 0);
  floor->point2->setCoords(analysis.min_accuracy, 1);
  plot_->xAxis->setRange(min_acc - 0.05, max_acc + 0.05);
  plot_->yAxis->setRange(0, max_tps * 1.1);
  apply_plot_theme(*plot_, colors);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace kvwb
