#include "ui/widgets/plot_theme.h"

#include <qcustomplot.h>

namespace kvwb {

PlotColors plot_colors(const QPalette& palette) {
  PlotColors c;
  c.background = palette.color(QPalette::Base);
  c.foreground = palette.color(QPalette::Text);
  c.dark = c.background.lightnessF() < 0.5;
  c.grid = c.foreground;
  c.grid.setAlphaF(0.18f);
  c.subgrid = c.foreground;
  c.subgrid.setAlphaF(0.07f);
  c.mark = c.dark ? QColor(255, 200, 80) : QColor(190, 110, 0);
  // Hues of a colour-blind-friendly set; lighter on dark backgrounds so they keep contrast.
  const int hues[6] = {210, 30, 130, 0, 280, 175};
  for (int i = 0; i < 6; ++i) c.series[i] = QColor::fromHsl(hues[i], 170, c.dark ? 165 : 95);
  return c;
}

void apply_plot_theme(QCustomPlot& plot, const PlotColors& c) {
  plot.setBackground(c.background);
  for (QCPAxisRect* rect : plot.axisRects()) {
    rect->setBackground(c.background);
    for (QCPAxis* axis : rect->axes()) {
      axis->setBasePen(QPen(c.foreground));
      axis->setTickPen(QPen(c.foreground));
      axis->setSubTickPen(QPen(c.foreground));
      axis->setTickLabelColor(c.foreground);
      axis->setLabelColor(c.foreground);
      axis->grid()->setPen(QPen(c.grid, 1, Qt::DotLine));
      axis->grid()->setSubGridPen(QPen(c.subgrid, 1, Qt::DotLine));
      axis->grid()->setZeroLinePen(QPen(c.grid));
    }
  }
  if (plot.legend != nullptr) {
    QColor legend_bg = c.background;
    legend_bg.setAlphaF(0.8f);
    plot.legend->setBrush(legend_bg);
    plot.legend->setBorderPen(QPen(c.grid));
    plot.legend->setTextColor(c.foreground);
  }
}

}  // namespace kvwb
