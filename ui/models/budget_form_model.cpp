#include "ui/models/budget_form_model.h"

#include <cmath>

namespace kvwb {
namespace {

struct KnobInfo {
  const char* name;
  const char* help;
};

const KnobInfo kKnobs[BudgetFormModel::KnobCount] = {
    {"Policy", "Which compression policy evicts KV entries (docs/policies.md)"},
    {"Budget in", "Give the compression budget as a token count or as a fraction of the context"},
    {"Budget (tokens)", "KV entries kept per sequence (scope sequence) or per KV head (scope head)"},
    {"Budget (ratio)", "Fraction of the context kept, in (0, 1]"},
    {"Scope", "sequence: one budget shared by all heads of a sequence; head: a budget per KV head"},
    {"Block size", "Tokens per KV block (takes effect at the next start: it fixes the cache layout)"},
    {"Prefill chunk", "Prompt tokens processed per chunk (Batch-Max evicts after each chunk)"},
    {"Window", "Observation window: the queries whose attention scores the KV entries"},
    {"Sinks", "First tokens of every sequence that are never evicted"},
    {"Protected window", "Most recent tokens that are never evicted"},
    {"Decode interval", "Decode steps between two evictions"},
};

}  // namespace

BudgetFormModel::BudgetFormModel(QObject* parent) : QAbstractTableModel(parent) {}

const QStringList& BudgetFormModel::policy_names() {
  static const QStringList names = {"full",          "decode-only", "batch-max", "kv-compress", "streaming-llm",
                                    "h2o",           "snapkv",      "pyramidkv", "ada-kv"};
  return names;
}

const QStringList& BudgetFormModel::budget_modes() {
  static const QStringList modes = {"tokens", "ratio"};
  return modes;
}

const QStringList& BudgetFormModel::scopes() {
  static const QStringList s = {"sequence", "head"};
  return s;
}

void BudgetFormModel::load(const RunConfig& config) {
  beginResetModel();
  policy_ = config.policy;
  ratio_mode_ = config.policy.budget_ratio.has_value();
  if (config.policy.budget_tokens) budget_tokens_ = *config.policy.budget_tokens;
  if (config.policy.budget_ratio) budget_ratio_ = *config.policy.budget_ratio;
  block_size_ = config.block_size;
  prefill_chunk_ = config.prefill_chunk;
  last_error_.clear();
  endResetModel();
}

RunConfig BudgetFormModel::apply_to(RunConfig base) const {
  base.policy = policy_;
  base.policy.budget_tokens.reset();
  base.policy.budget_ratio.reset();
  if (ratio_mode_) base.policy.budget_ratio = budget_ratio_;
  else base.policy.budget_tokens = budget_tokens_;
  base.block_size = block_size_;
  base.prefill_chunk = prefill_chunk_;
  return base;
}

int BudgetFormModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : KnobCount; }

int BudgetFormModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

bool BudgetFormModel::row_enabled(int row) const {
  if (row == BudgetTokens) return !ratio_mode_;
  if (row == BudgetRatio) return ratio_mode_;
  return true;
}

QVariant BudgetFormModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= KnobCount || index.column() >= ColumnCount) return {};
  const int row = index.row();
  if (role == Qt::ToolTipRole) return QString::fromLatin1(kKnobs[row].help);
  if (index.column() == Name) {
    return role == Qt::DisplayRole ? QVariant(QString::fromLatin1(kKnobs[row].name)) : QVariant();
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  switch (static_cast<Knob>(row)) {
    case Policy: return QString::fromStdString(policy_.name);
    case BudgetMode: return budget_modes()[ratio_mode_ ? 1 : 0];
    case BudgetTokens: return static_cast<qlonglong>(budget_tokens_);
    case BudgetRatio: return budget_ratio_;
    case Scope: return QString::fromStdString(policy_.budget_scope);
    case BlockSize: return static_cast<qlonglong>(block_size_);
    case PrefillChunk: return static_cast<qlonglong>(prefill_chunk_);
    case Window: return static_cast<qlonglong>(policy_.window);
    case Sinks: return static_cast<qlonglong>(policy_.sinks);
    case ProtectedRecent: return static_cast<qlonglong>(policy_.protected_recent);
    case DecodeInterval: return static_cast<qlonglong>(policy_.decode_interval);
    case KnobCount: break;
  }
  return {};
}

bool BudgetFormModel::refuse(const QString& why) {
  last_error_ = why;
  return false;
}

bool BudgetFormModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || index.column() != Value || index.row() >= KnobCount || role != Qt::EditRole) return false;
  const auto knob = static_cast<Knob>(index.row());
  const QString name = QString::fromLatin1(kKnobs[knob].name);
  bool ok = true;
  auto integer = [&](int64_t min, int64_t max, int64_t& field) {
    const qlonglong v = value.toLongLong(&ok);
    if (!ok) return refuse(name + ": not a whole number");
    if (v < min || v > max) return refuse(QStringLiteral("%1: must be in [%2, %3]").arg(name).arg(min).arg(max));
    field = v;
    return true;
  };
  auto choice = [&](const QStringList& allowed, QString& out) {
    out = value.toString();
    if (!allowed.contains(out)) return refuse(name + ": must be one of " + allowed.join(", "));
    return true;
  };
  constexpr int64_t kMaxTokens = int64_t{1} << 40;
  bool accepted = false;
  QString text;
  switch (knob) {
    case Policy:
      if ((accepted = choice(policy_names(), text))) policy_.name = text.toStdString();
      break;
    case BudgetMode:
      if ((accepted = choice(budget_modes(), text))) ratio_mode_ = text == "ratio";
      break;
    case BudgetTokens: accepted = integer(1, kMaxTokens, budget_tokens_); break;
    case BudgetRatio: {
      const double v = value.toDouble(&ok);
      if (!ok || !std::isfinite(v)) accepted = refuse(name + ": not a number");
      else if (v <= 0 || v > 1) accepted = refuse(name + ": must be in (0, 1]");
      else accepted = (budget_ratio_ = v, true);
      break;
    }
    case Scope:
      if ((accepted = choice(scopes(), text))) policy_.budget_scope = text.toStdString();
      break;
    case BlockSize: accepted = integer(1, 1024, block_size_); break;
    case PrefillChunk: accepted = integer(1, kMaxTokens, prefill_chunk_); break;
    case Window: accepted = integer(1, kMaxTokens, policy_.window); break;
    case Sinks: accepted = integer(0, kMaxTokens, policy_.sinks); break;
    case ProtectedRecent: accepted = integer(0, kMaxTokens, policy_.protected_recent); break;
    case DecodeInterval: accepted = integer(1, kMaxTokens, policy_.decode_interval); break;
    case KnobCount: break;
  }
  if (!accepted) return false;
  last_error_.clear();
  if (knob == BudgetMode) {  // the two budget rows swap their enabled state
    emit dataChanged(this->index(BudgetMode, 0), this->index(BudgetRatio, ColumnCount - 1));
  } else {
    emit dataChanged(index, index);
  }
  emit edited(knob);
  return true;
}

Qt::ItemFlags BudgetFormModel::flags(const QModelIndex& index) const {
  if (!index.isValid()) return Qt::NoItemFlags;
  Qt::ItemFlags f = Qt::ItemIsSelectable;
  if (row_enabled(index.row())) f |= Qt::ItemIsEnabled;
  if (index.column() == Value) f |= Qt::ItemIsEditable;
  return f;
}

QVariant BudgetFormModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  if (section == Name) return QStringLiteral("Knob");
  if (section == Value) return QStringLiteral("Value");
  return {};
}

}  // namespace kvwb
