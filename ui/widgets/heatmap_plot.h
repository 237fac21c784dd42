#pragma once
// A QCPColorMap with its colour scale (STYLE.md: setCell, no interpolation, data range from the
// data). Used for the layer x KV-head retention map and the Try panel's eviction map. NaN cells
// are drawn transparent (the eviction map's "kept" slots).
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
  double scale_lower() const;
  QCustomPlot* plot() const { return plot_; }

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void apply_theme();

  QCustomPlot* plot_ = nullptr;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  int nx_ = 0, ny_ = 0, filled_ = 0;
  bool from_zero_ = false;
};

}  // namespace kvwb
