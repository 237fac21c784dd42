#include "ui/widgets/frontier_plot.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <QEvent>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "kernels/kv_dtype.h"
#include "run/sweep/sweep.h"
#include "ui/widgets/plot_theme.h"

namespace kvwb {
namespace {

// One marker shape per KV dtype, in kernels::kKvDTypes order (f32, f16, bf16, q8_0, q4_0).
QCPScatterStyle::ScatterShape dtype_shape(const std::string& kv_dtype) {
  static constexpr std::array<QCPScatterStyle::ScatterShape, kernels::kKvDTypes.size()> shapes = {
      QCPScatterStyle::ssDisc, QCPScatterStyle::ssSquare, QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangle,
      QCPScatterStyle::ssTriangleInverted};
  for (size_t i = 0; i < kernels::kKvDTypes.size(); ++i) {
    if (kernels::kv_dtype_name(kernels::kKvDTypes[i]) == kv_dtype) return shapes[i];
  }
  return QCPScatterStyle::ssCross;  // a dtype this build lacks (a config from elsewhere)
}

}  // namespace

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

  // One graph per policy and dtype: the colour says the policy, the marker shape the dtype, and
  // the legend names both.
  std::map<std::string, QColor> policy_colour;
  std::map<std::pair<std::string, std::string>, QCPGraph*> by_series;
  double max_tps = 1, min_acc = analysis.min_accuracy, max_acc = 1;
  std::vector<std::pair<double, double>> frontier;
  for (size_t i = 0; i < analysis.rows.size(); ++i) {
    const SweepRow& r = analysis.rows[i];
    if (std::isnan(r.accuracy)) continue;
    const double tps = r.measured.summary.total_tokens_per_second;
    const std::string& policy = r.point.config.policy.name;
    const std::string& dtype = r.point.config.kv_dtype;
    QCPGraph*& g = by_series[{policy, dtype}];
    if (g == nullptr) {
      g = plot_->addGraph();
      g->setName(QString::fromStdString(policy + ", " + dtype));
      g->setLineStyle(QCPGraph::lsNone);
      if (!policy_colour.count(policy)) policy_colour[policy] = colors.series[policy_colour.size() % 6];
      const QColor c = policy_colour[policy];
      g->setScatterStyle(QCPScatterStyle(dtype_shape(dtype), c, c, 8));
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
