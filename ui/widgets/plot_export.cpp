#include "ui/widgets/plot_export.h"

#include <algorithm>

#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QSvgGenerator>
#include <qcustomplot.h>

#include "engine/core/error.h"

namespace kvwb {

void save_plots(const QList<QCustomPlot*>& plots, const QString& path) {
  const std::string where = path.toStdString();
  if (plots.isEmpty()) fail(where, "nothing to save");
  int width = 0, height = 0;
  for (const QCustomPlot* p : plots) {
    width = std::max(width, std::max(p->width(), 200));
    height += std::max(p->height(), 100);
  }
  // The plots one below the other, each at its own height and the widest plot's width.
  auto paint = [&](QCPPainter& painter) {
    int y = 0;
    for (QCustomPlot* p : plots) {
      const int h = std::max(p->height(), 100);
      painter.save();
      painter.translate(0, y);
      p->toPainter(&painter, width, h);
      painter.restore();
      y += h;
    }
  };
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == "svg") {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(QSize(width, height));
    svg.setViewBox(QRect(0, 0, width, height));
    svg.setTitle(QStringLiteral("kvwb"));
    QCPPainter painter;
    if (!painter.begin(&svg)) fail(where, "cannot write the SVG file");
    paint(painter);
    painter.end();
    if (!QFileInfo::exists(path)) fail(where, "cannot write the SVG file");
    return;
  }
  if (suffix != "png") fail(where, "unknown image type '{}' (use .png or .svg)", suffix.toStdString());
  QImage image(width, height, QImage::Format_ARGB32);
  image.fill(Qt::white);
  {
    QCPPainter painter(&image);
    paint(painter);
  }
  if (!image.save(path)) fail(where, "cannot write the PNG file");
}

}  // namespace kvwb
