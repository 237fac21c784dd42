#pragma once
// A QCPColorMap with its colour scale (STYLE.md: setCell, no interpolation, data range from the
// data). Used for the layer x KV-head retention map and the eviction maps. NaN cells are drawn
// transparent (positions not in the context). Hovering a cell shows its numbers; clicking one
// emits cellClicked (the retention map opens that head's eviction map). With categories (the
// eviction maps' evicted / kept / protected), each value 0, 1, ... is one flat colour named in
// a legend under the plot instead of a colour scale.
#include <functional>
#include <utility>
#include <vector>

#include <QColor>

#include <QString>
#include <QWidget>

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPItemStraightLine;
class QLabel;

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
  // Cells hold category indices 0 .. n - 1, drawn in these colours and named in a legend.
  struct Category {
    QString name;
    QColor color;
  };
  void set_categories(std::vector<Category> categories);
  const std::vector<Category>& categories() const { return categories_; }
  QString legend_text() const;  // the legend's names, in order ("" without categories)
  // Shows x around `center` (±half_width cells) and marks it with a vertical line.
  void focus_x(double center, double half_width);
  void set_scale_label(const QString& label);
  QString scale_label() const;
  double scale_lower() const;
  double scale_upper() const;
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
  QCPItemStraightLine* focus_line_ = nullptr;
  QLabel* legend_ = nullptr;
  std::vector<Category> categories_;
  std::function<QString(int, int, double)> hover_text_;
  QString x_label_, y_label_;
  std::vector<double> values_;
  int nx_ = 0, ny_ = 0, filled_ = 0;
  bool from_zero_ = false;
};

// The eviction maps' categories, in HeadTimeline's order (kEvicted 0, kKept 1, kProtected 2):
// orange, teal, purple, told apart by the colour-blind and visible on light and dark themes.
std::vector<HeatmapPlot::Category> eviction_state_categories();

}  // namespace kvwb
