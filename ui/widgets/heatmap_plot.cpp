#include "ui/widgets/heatmap_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QStringList>
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
  layout->addWidget(plot_, 1);  // the legend under it takes only its line
  legend_ = new QLabel(this);
  legend_->hide();
  layout->addWidget(legend_);
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
  if (hi <= lo) lo -= 1, hi += 1;  // one value everywhere: the scale's middle, with its number beside
  if (!categories_.empty()) lo = -0.5, hi = static_cast<double>(categories_.size()) - 0.5;
  map_->setDataRange(QCPRange(lo, hi));
  plot_->xAxis->setRange(-0.5, std::max(nx_, 1) - 0.5);
  plot_->yAxis->setRange(-0.5, std::max(ny_, 1) - 0.5);
  integer_ticks(plot_->xAxis, nx_);
  integer_ticks(plot_->yAxis, ny_);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

std::vector<HeatmapPlot::Category> eviction_state_categories() {
  return {{QObject::tr("evicted"), QColor(217, 95, 2)},
          {QObject::tr("kept"), QColor(27, 158, 119)},
          {QObject::tr("protected (sink or recent window)"), QColor(117, 112, 179)}};
}

double HeatmapPlot::scale_lower() const { return map_->dataRange().lower; }
double HeatmapPlot::scale_upper() const { return map_->dataRange().upper; }

QString HeatmapPlot::scale_label() const { return scale_->label(); }

void HeatmapPlot::set_scale_label(const QString& label) {
  scale_->setLabel(label);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapPlot::set_categories(std::vector<Category> categories) {
  categories_ = std::move(categories);
  const auto n = static_cast<double>(categories_.size());
  // Value i sits in the middle of band [i / n, (i + 1) / n] of the gradient: two stops of the
  // same colour per band make it flat, so no value between bands ever blends two categories.
  QCPColorGradient gradient;
  gradient.clearColorStops();
  for (size_t i = 0; i < categories_.size(); ++i) {
    gradient.setColorStopAt(static_cast<double>(i) / n + 1e-6, categories_[i].color);
    gradient.setColorStopAt(static_cast<double>(i + 1) / n - 1e-6, categories_[i].color);
  }
  gradient.setNanHandling(QCPColorGradient::nhTransparent);
  map_->setGradient(gradient);
  if (!categories_.empty() && scale_->visible()) {  // the legend names the colours instead
    scale_->setVisible(false);
    plot_->plotLayout()->take(scale_);
    plot_->plotLayout()->simplify();
  }
  QString html;
  for (const Category& c : categories_) {
    html += QStringLiteral("<span style=\"color:%1\">&#9632;</span>&nbsp;%2&nbsp;&nbsp; ").arg(c.color.name(), c.name.toHtmlEscaped());
  }
  legend_->setText(html);
  legend_->setVisible(!categories_.empty());
  set_cells(nx_, ny_, std::vector<double>(values_));
}

QString HeatmapPlot::legend_text() const {
  QStringList names;
  for (const Category& c : categories_) names << c.name;
  return names.join(QStringLiteral(" · "));
}

void HeatmapPlot::focus_x(double center, double half_width) {
  if (focus_line_ == nullptr) {
    focus_line_ = new QCPItemStraightLine(plot_);
    focus_line_->setSelectable(false);
  }
  focus_line_->setPen(QPen(plot_colors(palette()).mark, 1.5, Qt::DashLine));
  focus_line_->point1->setCoords(center, 0);
  focus_line_->point2->setCoords(center, 1);
  plot_->xAxis->setRange(center - half_width, center + half_width);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

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
