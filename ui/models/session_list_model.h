#pragma once
// The session browser's table: one row per recorded session of a database with its key
// metrics from the stored summary (throughput, peak KV blocks, accuracy); empty cells for a
// session that did not finish. Sorted as the store lists them (newest last).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <QAbstractTableModel>

#include "sessions/session_types.h"

namespace kvwb {

class SessionStore;

class SessionListModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Id, Name, Created, Model, Policy, Budget, Status, Steps, GeneratedPerSecond, PeakBlocks, Accuracy,
                Description, ColumnCount };
  static constexpr int kIdRole = Qt::UserRole;  // the session id of any cell's row

  struct Row {
    SessionInfo info;
    std::optional<double> generated_per_second, peak_blocks, accuracy;
  };

  explicit SessionListModel(QObject* parent = nullptr);

  // Every session of `store` with its summary's metrics.
  void load(SessionStore& store);
  void clear();
  const std::vector<Row>& rows() const { return rows_; }
  int row_of(int64_t id) const;  // -1 when not listed

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<Row> rows_;
};

// "256 tok", "0.25 ctx" or "-" (full KV): the budget a stored config names.
std::string budget_label(const nlohmann::json& config);

}  // namespace kvwb
