#include "ui/models/session_list_model.h"

#include <fmt/format.h>

#include "run/run_report.h"
#include "sessions/session_store.h"

namespace kvwb {
namespace {

QVariant optional_cell(const std::optional<double>& v, int decimals) {
  return v ? QVariant(QString::number(*v, 'f', decimals)) : QVariant(QStringLiteral("–"));
}

}  // namespace

std::string budget_label(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("policy") || !config.at("policy").is_object()) return "-";
  const nlohmann::json& p = config.at("policy");
  if (p.contains("budget_tokens") && p.at("budget_tokens").is_number()) {
    return fmt::format("{} tok", p.at("budget_tokens").dump());  // as stored: a float may not fit an int
  }
  if (p.contains("budget_ratio") && p.at("budget_ratio").is_number()) {
    return fmt::format("{:g} ctx", p.at("budget_ratio").get<double>());
  }
  return "-";
}

SessionListModel::SessionListModel(QObject* parent) : QAbstractTableModel(parent) {}

void SessionListModel::load(SessionStore& store) {
  std::vector<Row> rows;
  for (SessionInfo& info : store.list()) {
    Row r;
    const nlohmann::json summary = store.summary(info.id);
    if (summary.is_object()) {  // null until the run finished
      const RunSummary s = summary_from_json(summary);
      r.generated_per_second = s.generated_tokens_per_second;
      r.peak_blocks = static_cast<double>(s.peak_blocks_used);
      if (s.overall.count > 0) r.accuracy = s.overall.mean;
    }
    r.info = std::move(info);
    rows.push_back(std::move(r));
  }
  beginResetModel();
  rows_ = std::move(rows);
  endResetModel();
}

void SessionListModel::clear() {
  beginResetModel();
  rows_.clear();
  endResetModel();
}

int SessionListModel::row_of(int64_t id) const {
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].info.id == id) return static_cast<int>(i);
  }
  return -1;
}

int SessionListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int SessionListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant SessionListModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const Row& r = rows_[static_cast<size_t>(index.row())];
  if (role == kIdRole) return QVariant::fromValue<qlonglong>(r.info.id);
  if (role == Qt::TextAlignmentRole) {
    const bool numeric = index.column() == Id || index.column() == Steps || index.column() >= GeneratedPerSecond;
    return numeric && index.column() != Description ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
  }
  if (role == Qt::ToolTipRole && index.column() == Name) return QString::fromStdString(r.info.description);
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case Id: return QVariant::fromValue<qlonglong>(r.info.id);
    case Name: return QString::fromStdString(r.info.name);
    case Created: return QString::fromStdString(r.info.created);
    case Model: return QString::fromStdString(r.info.model);
    case Policy: return QString::fromStdString(policy_name_of(r.info.config));
    case Budget: return QString::fromStdString(budget_label(r.info.config));
    case Status: return QString::fromUtf8(status_name(r.info.status).data());
    case Steps: return QVariant::fromValue<qlonglong>(r.info.steps);
    case GeneratedPerSecond: return optional_cell(r.generated_per_second, 1);
    case PeakBlocks: return optional_cell(r.peak_blocks, 0);
    case Accuracy: return optional_cell(r.accuracy, 3);
    case Description: return QString::fromStdString(r.info.description);
  }
  return {};
}

QVariant SessionListModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* const names[ColumnCount] = {"#",     "Name",  "Created",      "Model",        "Policy",   "Budget",
                                                 "Status", "Steps", "gen tok/s",    "peak KV blocks", "Accuracy", "Note"};
  return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

}  // namespace kvwb
