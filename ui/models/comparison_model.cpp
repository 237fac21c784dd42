#include "ui/models/comparison_model.h"

#include <cmath>
#include <limits>

namespace kvwb {
namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

QString score_text(const std::optional<double>& v) { return v ? QString::number(*v, 'f', 4) : QStringLiteral("-"); }

}  // namespace

ComparisonModel::ComparisonModel(QObject* parent) : QAbstractTableModel(parent) {}

void ComparisonModel::set_comparison(const SessionComparison& c) {
  beginResetModel();
  comparison_ = c;
  rows_.clear();
  for (const MetricComparison& m : c.metrics) {
    rows_.push_back({tr("metric"), q(m.name), q(metric_value_text(m.a, m.unit)), q(metric_value_text(m.b, m.unit)), m.ratio()});
  }
  for (const TaskComparison& t : c.tasks) {
    const QString task = t.task.empty() ? tr("(none)") : q(t.task);
    rows_.push_back({tr("task"), tr("%1 (%2 / %3 requests)").arg(task).arg(t.count_a).arg(t.count_b),
                     score_text(t.score_a), score_text(t.score_b), t.ratio()});
  }
  for (const ConfigDifference& d : c.config) {
    rows_.push_back({tr("config"), q(d.key), q(config_value_text(d.a)), q(config_value_text(d.b)), std::nullopt});
  }
  endResetModel();
}

void ComparisonModel::clear() {
  beginResetModel();
  comparison_ = SessionComparison{};
  rows_.clear();
  endResetModel();
}

int ComparisonModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }

int ComparisonModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ComparisonModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const Row& r = rows_[static_cast<size_t>(index.row())];
  if (role == kRawRatioRole) return r.ratio ? *r.ratio : std::numeric_limits<double>::quiet_NaN();
  if (role == Qt::TextAlignmentRole && index.column() >= A) return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case Section: return r.section;
    case Item: return r.item;
    case A: return r.a;
    case B: return r.b;
    case Ratio: return r.ratio ? QString::number(*r.ratio, 'f', 3) : QStringLiteral("-");
  }
  return {};
}

QVariant ComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case Section: return tr("");
    case Item: return tr("Item");
    case A: return comparison_.a.id > 0 ? tr("A #%1").arg(comparison_.a.id) : tr("A");
    case B: return comparison_.b.id > 0 ? tr("B #%1").arg(comparison_.b.id) : tr("B");
    case Ratio: return tr("B / A");
  }
  return {};
}

}  // namespace kvwb
