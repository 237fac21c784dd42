#include "ui/models/token_view_model.h"

#include <algorithm>

#include "ui/models/token_text.h"

namespace kvwb {

TokenViewModel::TokenViewModel(QObject* parent) : QAbstractListModel(parent) {}

void TokenViewModel::set_trace(const TokenTrace& trace) {
  const bool same = trace.request_id == trace_.request_id && trace.tokens.ids.size() >= trace_.tokens.ids.size();
  const int before = rowCount();
  const int after = static_cast<int>(trace.tokens.pieces.size());
  if (!same) beginResetModel();
  else if (after > before) beginInsertRows({}, before, after - 1);
  trace_ = trace;
  retention_ = TokenRetention(trace_.map, trace_.layers, trace_.kv_heads);
  if (!same) {
    follow_last_ = true;
    row_ = std::clamp(row_, -1, retention_.rows() - 1);
  }
  step_ = follow_last_ ? last_step() : std::min(step_, last_step());
  shares_ = retention_.kept_shares(after, step_, row_);
  if (!same) endResetModel();
  else if (after > before) endInsertRows();
  if (same && before > 0) emit dataChanged(index(0), index(std::min(before, after) - 1));
}

void TokenViewModel::clear() { set_trace(TokenTrace{}); }

void TokenViewModel::set_step(int64_t step) {
  step_ = std::clamp<int64_t>(step, 0, std::max<int64_t>(last_step(), 0));
  follow_last_ = step_ >= last_step();
  shares_changed();
}

void TokenViewModel::set_row(int row) {
  row_ = std::clamp(row, -1, retention_.rows() - 1);
  shares_changed();
}

void TokenViewModel::shares_changed() {
  shares_ = retention_.kept_shares(rowCount(), step_, row_);
  if (rowCount() > 0) emit dataChanged(index(0), index(rowCount() - 1), {kKeptShareRole, kEvictedAtRole, Qt::ToolTipRole});
}

double TokenViewModel::kept_share(int64_t position) const {
  return position >= 0 && static_cast<size_t>(position) < shares_.size() ? shares_[static_cast<size_t>(position)] : 1.0;
}

int TokenViewModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(trace_.tokens.pieces.size());
}

QVariant TokenViewModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const auto p = static_cast<size_t>(index.row());
  const bool prompt = static_cast<int64_t>(p) < trace_.tokens.prompt_tokens;
  switch (role) {
    case Qt::DisplayRole:
      return QString::fromStdString(trace_.tokens.pieces[p]);
    case kKeptShareRole:
      return shares_[p];
    case kPositionRole:
      return static_cast<qint64>(p);
    case kIsPromptRole:
      return prompt;
    case kEvictedAtRole:
      return row_ < 0 ? -1 : retention_.evicted_at(row_, static_cast<int64_t>(p));
    case Qt::ToolTipRole:
      return QString::fromStdString("position " + std::to_string(p) + " \"" + escaped_token_text(trace_.tokens.pieces[p]) +
                                    "\" (" + (prompt ? "prompt" : "generated") + "), " +
                                    retention_.detail(static_cast<int64_t>(p), step_));
    default:
      return {};
  }
}

}  // namespace kvwb
