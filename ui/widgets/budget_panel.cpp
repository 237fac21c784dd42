#include "ui/widgets/budget_panel.h"

#include <limits>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTimer>

#include "ui/models/budget_form_model.h"

namespace kvwb {
namespace {

QSpinBox* spin(int min, QWidget* parent) {
  auto* s = new QSpinBox(parent);
  s->setRange(min, std::numeric_limits<int>::max());
  s->setKeyboardTracking(false);  // typing "512" sends one value, not 5, 51, 512
  s->setAccelerated(true);
  return s;
}

}  // namespace

BudgetPanel::BudgetPanel(BudgetFormModel* model, QWidget* parent) : QGroupBox(tr("Budget"), parent), model_(model) {
  auto* form = new QFormLayout(this);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

  policy_ = new QComboBox(this);
  policy_->addItems(BudgetFormModel::policy_names());
  mode_ = new QComboBox(this);
  mode_->addItems(BudgetFormModel::budget_modes());
  scope_ = new QComboBox(this);
  scope_->addItems(BudgetFormModel::scopes());
  span_ = new QComboBox(this);
  span_->addItems(BudgetFormModel::spans());
  guidance_ = new QComboBox(this);
  guidance_->addItems(BudgetFormModel::chunk_guidances());
  tokens_ = spin(1, this);
  ratio_ = new QDoubleSpinBox(this);
  ratio_->setRange(0.001, 1.0);
  ratio_->setDecimals(3);
  ratio_->setSingleStep(0.05);
  ratio_->setKeyboardTracking(false);
  block_ = spin(1, this);
  block_->setMaximum(1024);
  chunk_ = spin(1, this);
  window_ = spin(1, this);
  sinks_ = spin(0, this);
  protected_ = spin(0, this);
  interval_ = spin(1, this);

  auto add = [&](int knob, QWidget* editor) {
    const QModelIndex name = model_->index(knob, BudgetFormModel::Name);
    editor->setToolTip(name.data(Qt::ToolTipRole).toString());
    form->addRow(name.data().toString(), editor);
  };
  add(BudgetFormModel::Policy, policy_);
  add(BudgetFormModel::BudgetMode, mode_);
  add(BudgetFormModel::BudgetTokens, tokens_);
  add(BudgetFormModel::BudgetRatio, ratio_);
  add(BudgetFormModel::Scope, scope_);
  add(BudgetFormModel::Span, span_);
  add(BudgetFormModel::ChunkGuidance, guidance_);
  add(BudgetFormModel::BlockSize, block_);
  add(BudgetFormModel::PrefillChunk, chunk_);
  add(BudgetFormModel::Window, window_);
  add(BudgetFormModel::Sinks, sinks_);
  add(BudgetFormModel::ProtectedRecent, protected_);
  add(BudgetFormModel::DecodeInterval, interval_);

  auto* buttons = new QHBoxLayout;
  live_ = new QCheckBox(tr("Apply live"), this);
  live_->setChecked(true);
  live_->setToolTip(tr("Send every change to the running engine (applied between two steps)"));
  apply_ = new QPushButton(tr("Apply"), this);
  buttons->addWidget(live_);
  buttons->addWidget(apply_);
  form->addRow(buttons);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  form->addRow(status_);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(250);
  connect(debounce_, &QTimer::timeout, this, &BudgetPanel::applyRequested);
  connect(apply_, &QPushButton::clicked, this, [this] {
    debounce_->stop();
    emit applyRequested();
  });

  connect(policy_, &QComboBox::currentTextChanged, this, [this](const QString& v) { edit(BudgetFormModel::Policy, v); });
  connect(mode_, &QComboBox::currentTextChanged, this, [this](const QString& v) { edit(BudgetFormModel::BudgetMode, v); });
  connect(scope_, &QComboBox::currentTextChanged, this, [this](const QString& v) { edit(BudgetFormModel::Scope, v); });
  connect(span_, &QComboBox::currentTextChanged, this, [this](const QString& v) { edit(BudgetFormModel::Span, v); });
  connect(guidance_, &QComboBox::currentTextChanged, this,
          [this](const QString& v) { edit(BudgetFormModel::ChunkGuidance, v); });
  connect(ratio_, &QDoubleSpinBox::valueChanged, this, [this](double v) { edit(BudgetFormModel::BudgetRatio, v); });
  const std::pair<QSpinBox*, int> spins[] = {{tokens_, BudgetFormModel::BudgetTokens},
                                             {block_, BudgetFormModel::BlockSize},
                                             {chunk_, BudgetFormModel::PrefillChunk},
                                             {window_, BudgetFormModel::Window},
                                             {sinks_, BudgetFormModel::Sinks},
                                             {protected_, BudgetFormModel::ProtectedRecent},
                                             {interval_, BudgetFormModel::DecodeInterval}};
  for (const auto& [box, knob] : spins) {
    connect(box, &QSpinBox::valueChanged, this, [this, knob = knob](int v) { edit(knob, v); });
  }
  connect(model_, &QAbstractItemModel::dataChanged, this, &BudgetPanel::refresh_from_model);
  connect(model_, &QAbstractItemModel::modelReset, this, &BudgetPanel::refresh_from_model);
  refresh_from_model();
}

bool BudgetPanel::live_apply() const { return live_->isChecked(); }

void BudgetPanel::set_live_apply(bool on) { live_->setChecked(on); }

void BudgetPanel::set_status(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #d04040;") : QString());
}

void BudgetPanel::edit(int knob, const QVariant& value) {
  if (!model_->set_value(static_cast<BudgetFormModel::Knob>(knob), value)) {
    set_status(model_->last_error(), true);
    refresh_from_model();  // show the value the model kept
    return;
  }
  if (knob == BudgetFormModel::BlockSize) {
    set_status(tr("Block size takes effect at the next start."), false);
    return;
  }
  if (live_->isChecked()) debounce_->start();
}

void BudgetPanel::refresh_from_model() {
  auto text = [&](int knob) { return model_->value(static_cast<BudgetFormModel::Knob>(knob)).toString(); };
  auto number = [&](int knob) { return model_->value(static_cast<BudgetFormModel::Knob>(knob)).toLongLong(); };
  auto set_combo = [](QComboBox* box, const QString& v) {
    const QSignalBlocker block(box);
    box->setCurrentText(v);
  };
  auto set_spin = [](QSpinBox* box, qlonglong v) {
    const QSignalBlocker block(box);
    box->setValue(static_cast<int>(std::min<qlonglong>(v, std::numeric_limits<int>::max())));
  };
  set_combo(policy_, text(BudgetFormModel::Policy));
  set_combo(mode_, text(BudgetFormModel::BudgetMode));
  set_combo(scope_, text(BudgetFormModel::Scope));
  set_combo(span_, text(BudgetFormModel::Span));
  set_combo(guidance_, text(BudgetFormModel::ChunkGuidance));
  set_spin(tokens_, number(BudgetFormModel::BudgetTokens));
  {
    const QSignalBlocker block(ratio_);
    ratio_->setValue(model_->value(BudgetFormModel::BudgetRatio).toDouble());
  }
  set_spin(block_, number(BudgetFormModel::BlockSize));
  set_spin(chunk_, number(BudgetFormModel::PrefillChunk));
  set_spin(window_, number(BudgetFormModel::Window));
  set_spin(sinks_, number(BudgetFormModel::Sinks));
  set_spin(protected_, number(BudgetFormModel::ProtectedRecent));
  set_spin(interval_, number(BudgetFormModel::DecodeInterval));
  const bool ratio = text(BudgetFormModel::BudgetMode) == "ratio";
  tokens_->setEnabled(!ratio);
  ratio_->setEnabled(ratio);
}

}  // namespace kvwb
