#pragma once
// Saves plots to a file: PNG (rendered at the widgets' size) or SVG (vector, through Qt SVG and
// QCustomPlot's own painter), chosen by the file's suffix. Several plots are stacked top to
// bottom in one image. Throws kvwb::Error "<path>: <problem>".
#include <QList>
#include <QString>

class QCustomPlot;

namespace kvwb {

void save_plots(const QList<QCustomPlot*>& plots, const QString& path);

}  // namespace kvwb
