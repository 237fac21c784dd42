#pragma once
// Two sessions side by side, as `kvwb-cli sessions compare` computes it (compare_sessions):
// one table with the summary metrics, then the per-task scores, then the config keys that
// differ; columns A, B and B / A. The ratio's raw value is under kRawRatioRole (NaN when none).
#include <optional>
#include <vector>

#include <QAbstractTableModel>

#include "sessions/session_compare.h"

namespace kvwb {

class ComparisonModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Section, Item, A, B, Ratio, ColumnCount };
  static constexpr int kRawRatioRole = Qt::UserRole;

  explicit ComparisonModel(QObject* parent = nullptr);

  void set_comparison(const SessionComparison& comparison);
  void clear();
  const SessionComparison& comparison() const { return comparison_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  struct Row {
    QString section, item, a, b;
    std::optional<double> ratio;
  };
  SessionComparison comparison_;
  std::vector<Row> rows_;
};

}  // namespace kvwb
