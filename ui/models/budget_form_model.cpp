#include "ui/models/budget_form_model.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "engine/config/policy_names.h"
#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"

namespace kvwb {
namespace {

struct KnobInfo {
  const char* name;
  const char* help;
  std::string_view key;  // the schema field the knob edits; "" for the budget mode
};

const KnobInfo kKnobs[BudgetFormModel::KnobCount] = {
    {"Policy", "Which compression policy evicts KV entries (docs/policies.md)", "policy.name"},
    {"Budget in", "Give the compression budget as a token count or as a fraction of the context", ""},
    {"Budget (tokens)", "KV entries kept per sequence (scope sequence) or per KV head (scope head)", "policy.budget_tokens"},
    {"Budget (ratio)", "Fraction of the context kept, in (0, 1]", "policy.budget_ratio"},
    {"Scope", "sequence: one budget shared by all heads of a sequence; head: a budget per KV head", "policy.budget_scope"},
    {"Span", "none: evict single tokens; word or line: keep or drop whole words/numbers or lines (docs/policies.md)",
     "policy.span"},
    {"Chunk guidance",
     "Policies that evict between prefill chunks (batch-max; kv-compress with chunked prefill): none scores a chunk "
     "by its own queries; question by the request's question (or the prompt's last window tokens), fed with every "
     "chunk (docs/policies.md)",
     "policy.chunk_guidance"},
    {"Block size", "Tokens per KV block (takes effect at the next start: it fixes the cache layout)", "block_size"},
    {"Prefill chunk", "Prompt tokens processed per chunk (Batch-Max evicts after each chunk)", "prefill_chunk"},
    {"Window", "Observation window: the queries whose attention scores the KV entries", "policy.window"},
    {"Sinks", "First tokens of every sequence that are never evicted", "policy.sinks"},
    {"Protected window", "Most recent tokens that are never evicted", "policy.protected_recent"},
    {"Decode interval", "Decode steps between two evictions", "policy.decode_interval"},
};

QStringList string_list(std::span<const std::string_view> items) {
  QStringList out;
  for (std::string_view s : items) out << QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
  return out;
}

QVariant as_variant(const Json& v) {
  if (v.is_number_integer()) return static_cast<qlonglong>(v.get<int64_t>());
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  return {};
}

// A number the way a flag gives it: QVariant(0.25).toString() is "0.25", and integers stay whole.
std::string as_text(const QVariant& value) { return value.toString().toStdString(); }

}  // namespace

BudgetFormModel::BudgetFormModel(QObject* parent) : QAbstractTableModel(parent) {
  form_.policy.budget_tokens = 256;
  form_.policy.budget_ratio = 0.5;
}

const QStringList& BudgetFormModel::policy_names() {
  static const QStringList names = string_list(kvwb::policy_names());
  return names;
}

const QStringList& BudgetFormModel::budget_modes() {
  static const QStringList modes = {"tokens", "ratio"};
  return modes;
}

const QStringList& BudgetFormModel::scopes() {
  static const QStringList s = string_list(config_field("policy.budget_scope").choices());
  return s;
}

const QStringList& BudgetFormModel::spans() {
  static const QStringList s = string_list(config_field("policy.span").choices());
  return s;
}

const QStringList& BudgetFormModel::chunk_guidances() {
  static const QStringList s = string_list(config_field("policy.chunk_guidance").choices());
  return s;
}

bool BudgetFormModel::applies_live(Knob knob) {
  const std::string_view key = kKnobs[knob].key;
  return key.empty() || config_field(key).applies == Applies::live;
}

void BudgetFormModel::load(const RunConfig& config) {
  beginResetModel();
  const RunConfig before = form_;
  form_ = config;
  ratio_mode_ = config.policy.budget_ratio.has_value();
  // The budget not in use keeps the value it had in the form.
  if (!form_.policy.budget_tokens) form_.policy.budget_tokens = before.policy.budget_tokens;
  if (!form_.policy.budget_ratio) form_.policy.budget_ratio = before.policy.budget_ratio;
  last_error_.clear();
  endResetModel();
}

RunConfig BudgetFormModel::apply_to(RunConfig base) const {
  for (const ConfigField& f : config_fields()) {
    const bool knob = std::ranges::any_of(kKnobs, [&](const KnobInfo& k) { return k.key == f.key; });
    if (knob || f.group() == "policy") f.copy(form_, base);
  }
  if (ratio_mode_) base.policy.budget_tokens.reset();
  else base.policy.budget_ratio.reset();
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
  if (row == BudgetMode) return budget_modes()[ratio_mode_ ? 1 : 0];
  return as_variant(config_field(kKnobs[row].key).write(form_));
}

bool BudgetFormModel::refuse(const QString& why) {
  last_error_ = why;
  return false;
}

bool BudgetFormModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || index.column() != Value || index.row() >= KnobCount || role != Qt::EditRole) return false;
  const auto knob = static_cast<Knob>(index.row());
  const QString name = QString::fromLatin1(kKnobs[knob].name);
  if (knob == BudgetMode) {
    if (!budget_modes().contains(value.toString())) return refuse(name + ": must be one of " + budget_modes().join(", "));
    ratio_mode_ = value.toString() == "ratio";
  } else {
    // The knob's schema field parses and checks the value, as a flag or a config file would.
    const ConfigField& field = config_field(kKnobs[knob].key);
    RunConfig trial = form_;
    try {
      field.parse(as_text(value), trial, name.toStdString());
    } catch (const Error& e) {
      return refuse(QString::fromStdString(e.what()));
    }
    const std::string problem = config_field_problem(trial, field);
    if (!problem.empty()) return refuse(name + ": " + QString::fromStdString(problem));
    form_ = std::move(trial);
  }
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
