#pragma once
// The budget controls as a table of knobs (one row each: name, value), edited by the budget
// panel's widgets and shown by any item view. Each knob edits one RunConfig schema field
// (engine/config/run_config_schema.h) and is checked by that field's rules as it is set, so a
// refused edit never reaches a running engine. apply_to() writes the form into a RunConfig for a
// start or a live update: the knobs and the rest of the loaded policy.
#include <cstdint>
#include <string>

#include <QAbstractTableModel>
#include <QStringList>

#include "engine/config/run_config.h"

namespace kvwb {

class BudgetFormModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Knob {
    Policy,
    BudgetMode,  // tokens | ratio
    BudgetTokens,
    BudgetRatio,
    Scope,  // sequence | head
    Span,   // none | word | line
    ChunkGuidance,  // none | question
    BlockSize,
    PrefillChunk,
    Window,
    Sinks,
    ProtectedRecent,
    DecodeInterval,
    KnobCount
  };
  enum Column { Name, Value, ColumnCount };

  explicit BudgetFormModel(QObject* parent = nullptr);

  static const QStringList& policy_names();  // the policy registry
  static const QStringList& budget_modes();
  static const QStringList& scopes();
  static const QStringList& spans();
  static const QStringList& chunk_guidances();
  // Whether a change applies to a running run or at the next start (the schema's rule).
  static bool applies_live(Knob knob);

  void load(const RunConfig& config);
  RunConfig apply_to(RunConfig base) const;

  QVariant value(Knob knob) const { return data(index(knob, Value), Qt::EditRole); }
  bool set_value(Knob knob, const QVariant& value) { return setData(index(knob, Value), value, Qt::EditRole); }
  const QString& last_error() const { return last_error_; }  // why the last refused edit was refused

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 signals:
  void edited(int knob);  // a Knob changed through setData

 private:
  bool refuse(const QString& why);
  bool row_enabled(int row) const;

  // The form's values; both budgets are kept (the mode picks the one apply_to writes).
  RunConfig form_;
  bool ratio_mode_ = false;
  QString last_error_;
};

}  // namespace kvwb
