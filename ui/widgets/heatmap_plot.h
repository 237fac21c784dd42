#pragma once
// A QCPColorMap with its colour scale (STYLE.md: setCell, no interpolation, data range from the
// data). Used for the layer x KV-head retention map and the eviction maps. NaN cells are drawn
// transparent (the eviction map's "kept" slots). Hovering a cell shows its numbers; clicking
// one emits cellClicked (the retention map opens that head's eviction map).
#include <functional>
#include <vector>

#include <QString>
#include <QWidget>

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;

namespace kvwb {

class HeatmapPlot : public QWidget {
  Q_OBJECT

 public:
  HeatmapPlot(const QString& x_label, const QString& y_label, const QString& scale_label, QWidget* parent = nullptr);

  // values[y * nx + x]; cell x covers key x, cell y covers value y. An empty data range
  // (all NaN) keeps [0, 1].
  void set_cells(int nx, int ny, const std::vector<double>& values);
  int cells_x() const { return nx_; }
  int cells_y() const { return ny_; }
  int filled_cells() const { return filled_; }  // cells that are not NaN
  // Colour scale from 0 instead of from the smallest value: counts (retained tokens) read
  // as amounts, so a uniform budget shows as one bright colour, not as the scale's dark end.
  void set_scale_from_zero(bool on) { from_zero_ = on; }
  // A colour scale fixed to [lo, hi] whatever the data holds (the eviction maps' 0 / 1 / 2
  // states keep their colours when one of them is absent).
  void set_fixed_range(double lo, double hi) {
    fixed_ = true;
    fixed_lo_ = lo;
    fixed_hi_ = hi;
  }
  double scale_lower() const;
  QCustomPlot* plot() const { return plot_; }

  // The value of cell (x, y) (NaN outside or where empty), and the cell under a widget point
  // of the plot (false when outside the cells).
  double value(int x, int y) const;
  bool cell_at(const QPoint& plot_pos, int* x, int* y) const;
  // The tooltip a hovered cell shows; the default names the axes and the value.
  void set_hover_text(std::function<QString(int x, int y, double value)> text) { hover_text_ = std::move(text); }
  QString hover_text(int x, int y) const;

 signals:
  void cellClicked(int x, int y);

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void apply_theme();

  QCustomPlot* plot_ = nullptr;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  std::function<QString(int, int, double)> hover_text_;
  QString x_label_, y_label_;
  std::vector<double> values_;
  int nx_ = 0, ny_ = 0, filled_ = 0;
  bool from_zero_ = false;
  bool fixed_ = false;
  double fixed_lo_ = 0, fixed_hi_ = 1;
};

}  // namespace kvwb
