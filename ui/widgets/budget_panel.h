#pragma once
// The budget controls: one editor per knob of a BudgetFormModel. With "Apply live" on, every
// accepted edit asks (after a short pause, so spinning a value sends one update) for the knobs
// to be applied to the running engine between two steps; otherwise the Apply button does.
#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTimer;

namespace kvwb {

class BudgetFormModel;

class BudgetPanel : public QGroupBox {
  Q_OBJECT

 public:
  explicit BudgetPanel(BudgetFormModel* model, QWidget* parent = nullptr);

  bool live_apply() const;
  void set_live_apply(bool on);
  void set_status(const QString& text, bool error);  // e.g. "applied at step 120" or a refusal

 signals:
  void applyRequested();

 private:
  void refresh_from_model();
  void edit(int knob, const QVariant& value);

  BudgetFormModel* model_;
  QComboBox *policy_ = nullptr, *mode_ = nullptr, *scope_ = nullptr, *span_ = nullptr, *guidance_ = nullptr;
  QSpinBox* tokens_ = nullptr;
  QDoubleSpinBox* ratio_ = nullptr;
  QSpinBox *block_ = nullptr, *chunk_ = nullptr, *window_ = nullptr, *sinks_ = nullptr, *protected_ = nullptr,
           *interval_ = nullptr;
  QCheckBox* live_ = nullptr;
  QPushButton* apply_ = nullptr;
  QLabel* status_ = nullptr;
  QTimer* debounce_ = nullptr;
};

}  // namespace kvwb
