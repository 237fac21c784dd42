#include "ui/widgets/heatmap_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QEvent>
#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/widgets/plot_theme.h"

namespace kvwb {
namespace {

// Cells are indices (heads, layers, positions): ticks on whole numbers only.
void integer_ticks(QCPAxis* axis, int cells) {
  auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
  ticker->setTickStep(1.0);
  ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);  // 1, 2, 5, 10... apart when crowded
  ticker->setTickCount(std::min(std::max(cells, 2), 8));
  axis->setTicker(ticker);
}

}  // namespace

HeatmapPlot::HeatmapPlot(const QString& x_label, const QString& y_label, const QString& scale_label, QWidget* parent)
    : QWidget(parent), x_label_(x_label), y_label_(y_label) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(140);
  plot_->xAxis->setLabel(x_label);
  plot_->yAxis->setLabel(y_label);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(false);  // cells extend half a step around their index
  scale_ = new QCPColorScale(plot_);
  scale_->setLabel(scale_label);
  plot_->plotLayout()->addElement(0, 1, scale_);
  map_->setColorScale(scale_);
  // Dark blue through teal to yellow: ordered by lightness, readable by the colour-blind, and
  // never white or black, so the top and bottom of the scale stay visible on light and dark
  // backgrounds alike (a uniform map at the top of the scale must not vanish).
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorStopAt(0.0, QColor(45, 30, 120));
  gradient.setColorStopAt(0.5, QColor(30, 150, 140));
  gradient.setColorStopAt(1.0, QColor(245, 215, 40));
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  gradient.setNanHandling(QCPColorGradient::nhTransparent);
  map_->setGradient(gradient);
  // The colour scale's axis rect lines up with the map's.
  auto* group = new QCPMarginGroup(plot_);
  plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  layout->addWidget(plot_);
  plot_->setMouseTracking(true);
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
    int x = 0, y = 0;
    if (cell_at(e->pos(), &x, &y)) QToolTip::showText(e->globalPosition().toPoint(), hover_text(x, y), plot_);
    else QToolTip::hideText();
  });
  connect(plot_, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
    int x = 0, y = 0;
    // A click, not the end of a drag: the press and release hit the same cell.
    if (e->button() == Qt::LeftButton && cell_at(e->pos(), &x, &y)) emit cellClicked(x, y);
  });
  apply_theme();
}

double HeatmapPlot::value(int x, int y) const {
  if (x < 0 || y < 0 || x >= nx_ || y >= ny_) return std::numeric_limits<double>::quiet_NaN();
  const size_t i = static_cast<size_t>(y) * static_cast<size_t>(nx_) + static_cast<size_t>(x);
  return i < values_.size() ? values_[i] : std::numeric_limits<double>::quiet_NaN();
}

bool HeatmapPlot::cell_at(const QPoint& pos, int* x, int* y) const {
  if (!plot_->axisRect()->rect().contains(pos)) return false;
  const double key = plot_->xAxis->pixelToCoord(pos.x()), val = plot_->yAxis->pixelToCoord(pos.y());
  const int cx = static_cast<int>(std::floor(key + 0.5)), cy = static_cast<int>(std::floor(val + 0.5));
  if (cx < 0 || cy < 0 || cx >= nx_ || cy >= ny_) return false;
  *x = cx;
  *y = cy;
  return true;
}

QString HeatmapPlot::hover_text(int x, int y) const {
  const double v = value(x, y);
  if (hover_text_) return hover_text_(x, y, v);
  return QStringLiteral("%1 %2, %3 %4: %5")
      .arg(y_label_)
      .arg(y)
      .arg(x_label_)
      .arg(x)
      .arg(std::isnan(v) ? QStringLiteral("–") : QString::number(v, 'g', 4));
}

void HeatmapPlot::set_cells(int nx, int ny, const std::vector<double>& values) {
  nx_ = std::max(nx, 0);
  ny_ = std::max(ny, 0);
  values_ = values;
  filled_ = 0;
  QCPColorMapData* data = map_->data();
  data->setSize(std::max(nx_, 1), std::max(ny_, 1));
  data->setRange(QCPRange(0, std::max(nx_ - 1, 1)), QCPRange(0, std::max(ny_ - 1, 1)));
  if (nx_ == 0 || ny_ == 0) data->setCell(0, 0, std::numeric_limits<double>::quiet_NaN());  // nothing: blank
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int y = 0; y < ny_; ++y) {
    for (int x = 0; x < nx_; ++x) {
      const size_t i = static_cast<size_t>(y) * static_cast<size_t>(nx_) + static_cast<size_t>(x);
      const double v = i < values.size() ? values[i] : std::numeric_limits<double>::quiet_NaN();
      data->setCell(x, y, v);
      if (std::isnan(v)) continue;
      ++filled_;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (filled_ == 0) lo = 0, hi = 1;
  if (from_zero_) lo = std::min(lo, 0.0);
  if (hi <= lo) hi = lo + 1;
  if (fixed_) lo = fixed_lo_, hi = fixed_hi_;
  map_->setDataRange(QCPRange(lo, hi));
  plot_->xAxis->setRange(-0.5, std::max(nx_, 1) - 0.5);
  plot_->yAxis->setRange(-0.5, std::max(ny_, 1) - 0.5);
  integer_ticks(plot_->xAxis, nx_);
  integer_ticks(plot_->yAxis, ny_);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

double HeatmapPlot::scale_lower() const { return map_->dataRange().lower; }

void HeatmapPlot::changeEvent(QEvent* event) {
  if (event->type() == QEvent::PaletteChange) apply_theme();
  QWidget::changeEvent(event);
}

void HeatmapPlot::apply_theme() {
  const PlotColors colors = plot_colors(palette());
  apply_plot_theme(*plot_, colors);
  scale_->axis()->setBasePen(QPen(colors.foreground));
  scale_->axis()->setTickPen(QPen(colors.foreground));
  scale_->axis()->setSubTickPen(QPen(colors.foreground));
  scale_->axis()->setTickLabelColor(colors.foreground);
  scale_->axis()->setLabelColor(colors.foreground);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace kvwb
