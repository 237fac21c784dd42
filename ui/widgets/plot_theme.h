#pragma once
// Plot colours derived from the widget palette, so plots follow light and dark themes (hotspot's
// practice: re-apply on QEvent::PaletteChange instead of hard-coding a theme).
#include <QColor>
#include <QPalette>

class QCustomPlot;
class QCPAxisRect;

namespace kvwb {

struct PlotColors {
  bool dark = false;
  QColor background, foreground, grid, subgrid, mark;
  QColor series[6];  // distinct hues, lightened on dark backgrounds
};

PlotColors plot_colors(const QPalette& palette);
// Backgrounds, axes, ticks, labels, grids and the legend of every axis rect of the plot.
void apply_plot_theme(QCustomPlot& plot, const PlotColors& colors);

}  // namespace kvwb
