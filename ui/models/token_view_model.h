#pragma once
// The token view's rows: one per token of a traced request (prompt, then output), with how
// much of the KV cache still holds it after the selected step, over every (layer, KV head) row
// or for one of them. Display: the token's text; tooltip: its position, text and every head's
// state; kKeptShareRole: the share in [0, 1].
#include <cstdint>

#include <QAbstractListModel>

#include "ui/models/token_retention.h"
#include "ui/models/token_traces.h"

namespace kvwb {

class TokenViewModel : public QAbstractListModel {
  Q_OBJECT

 public:
  static constexpr int kKeptShareRole = Qt::UserRole;      // double in [0, 1]
  static constexpr int kPositionRole = Qt::UserRole + 1;   // qint64
  static constexpr int kIsPromptRole = Qt::UserRole + 2;   // bool
  static constexpr int kEvictedAtRole = Qt::UserRole + 3;  // the chosen row's eviction step, or -1 (all rows: -1)

  explicit TokenViewModel(QObject* parent = nullptr);

  // A new request, or the same one grown (more tokens, more evictions). The step stays where it
  // was unless it followed the newest step, or it is past the new trace's last step.
  void set_trace(const TokenTrace& trace);
  void clear();
  // After this step ran (clamped to the trace's steps); default: the last step of the map.
  void set_step(int64_t step);
  // -1: the share over every (layer, KV head) row; else that row only (layer * kv_heads + head).
  void set_row(int row);

  const TokenTrace& trace() const { return trace_; }
  const TokenRetention& retention() const { return retention_; }
  int64_t step() const { return step_; }
  int64_t last_step() const { return trace_.map.step; }
  int row() const { return row_; }
  double kept_share(int64_t position) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

 private:
  void shares_changed();

  TokenTrace trace_;
  TokenRetention retention_;
  std::vector<double> shares_;
  int64_t step_ = 0;
  bool follow_last_ = true;
  int row_ = -1;
};

}  // namespace kvwb
