#include "ui/widgets/run_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>

#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"

namespace kvwb {
namespace {

QString qstring(std::string_view text) { return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())); }

// A choice fixed for a run: its items and help from the RunConfig schema row `key`.
QComboBox* schema_choice(std::string_view key, const QString& more_help, QWidget* parent) {
  const ConfigField& field = config_field(key);
  auto* box = new QComboBox(parent);
  for (std::string_view name : field.choices()) box->addItem(qstring(name));
  box->setToolTip(qstring(field.help) + more_help);
  return box;
}

}  // namespace

RunPanel::RunPanel(QWidget* parent) : QGroupBox(tr("Run"), parent) {
  auto* form = new QFormLayout(this);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

  model_ = new QComboBox(this);
  model_->setEditable(true);
  model_->setToolTip(tr("smollm2, demo, an HF model folder or a GGUF file"));
  auto* model_browse = new QToolButton(this);
  model_browse->setText(QStringLiteral("…"));
  model_browse->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(model_browse);
  menu->addAction(tr("HF model folder…"), this, &RunPanel::browse_model_folder);
  menu->addAction(tr("GGUF file…"), this, &RunPanel::browse_model_file);
  model_browse->setMenu(menu);
  auto* model_row = new QHBoxLayout;
  model_row->addWidget(model_, 1);
  model_row->addWidget(model_browse);
  form->addRow(tr("Model"), model_row);

  workload_ = new QComboBox(this);
  workload_->setEditable(true);
  workload_->setToolTip(tr("Requests with reference answers (JSONL)"));
  auto* workload_browse = new QToolButton(this);
  workload_browse->setText(QStringLiteral("…"));
  connect(workload_browse, &QToolButton::clicked, this, &RunPanel::browse_workload);
  auto* workload_row = new QHBoxLayout;
  workload_row->addWidget(workload_, 1);
  workload_row->addWidget(workload_browse);
  form->addRow(tr("Workload"), workload_row);

  backend_ = new QComboBox(this);
  backend_->addItems({"cpu", "cuda"});
  form->addRow(tr("Backend"), backend_);

  pool_ = new QLineEdit(QStringLiteral("auto"), this);
  pool_->setToolTip(tr("Memory of the KV cache, e.g. 64MiB; auto = a share of free memory, capped at what "
                       "the whole workload needs uncompressed"));
  form->addRow(tr("KV pool"), pool_);

  // The KV dtype: choices and help from the RunConfig schema (kernels/kv_dtype.h lists them).
  kv_dtype_ = schema_choice("kv_dtype", tr(". The same pool holds more tokens in a smaller dtype; fixed for a run."), this);
  form->addRow(tr("KV dtype"), kv_dtype_);
  kv_rotation_ = schema_choice("kv_rotation", tr(". Fixed for a run."), this);
  form->addRow(tr("KV rotation"), kv_rotation_);

  max_requests_ = new QSpinBox(this);
  max_requests_->setRange(0, 1000000);
  max_requests_->setSpecialValueText(tr("all"));
  max_requests_->setToolTip(tr("Run only the first N requests of the workload"));
  form->addRow(tr("Requests"), max_requests_);

  auto* buttons = new QGridLayout;
  start_ = new QPushButton(tr("Start"), this);
  pause_ = new QPushButton(tr("Pause"), this);
  resume_ = new QPushButton(tr("Resume"), this);
  stop_ = new QPushButton(tr("Stop"), this);
  reference_ = new QPushButton(tr("Reference run (full KV)"), this);
  reference_->setToolTip(tr("Run the same workload with full KV, so accuracy shows as a fraction of it"));
  buttons->addWidget(start_, 0, 0);
  buttons->addWidget(pause_, 0, 1);
  buttons->addWidget(resume_, 0, 2);
  buttons->addWidget(stop_, 0, 3);
  buttons->addWidget(reference_, 1, 0, 1, 4);
  form->addRow(buttons);
  connect(start_, &QPushButton::clicked, this, &RunPanel::startRequested);
  connect(pause_, &QPushButton::clicked, this, &RunPanel::pauseRequested);
  connect(resume_, &QPushButton::clicked, this, &RunPanel::resumeRequested);
  connect(stop_, &QPushButton::clicked, this, &RunPanel::stopRequested);
  connect(reference_, &QPushButton::clicked, this, &RunPanel::referenceRequested);
  set_state(RunState::Idle, RunState::Idle);
}

void RunPanel::choose(QComboBox* box, const QString& value) {
  if (value.isEmpty()) return;
  int i = box->findText(value);
  if (i < 0) {
    box->addItem(value);
    i = box->count() - 1;
  }
  box->setCurrentIndex(i);
}

void RunPanel::set_choices(const QStringList& models, const QStringList& workloads) {
  model_->clear();
  model_->addItems(models);
  workload_->clear();
  workload_->addItems(workloads);
}

void RunPanel::select(const RunConfig& c) {
  choose(model_, QString::fromStdString(c.model));
  choose(workload_, QString::fromStdString(c.workload));
  backend_->setCurrentText(QString::fromStdString(c.backend));
  pool_->setText(c.kv_pool_bytes ? QString::fromStdString(format_bytes(*c.kv_pool_bytes)) : QStringLiteral("auto"));
  kv_dtype_->setCurrentText(QString::fromStdString(c.kv_dtype));
  kv_rotation_->setCurrentText(QString::fromStdString(c.kv_rotation));
  max_requests_->setValue(c.max_requests ? static_cast<int>(*c.max_requests) : 0);
}

RunConfig RunPanel::fill(RunConfig c) const {
  c.model = model_->currentText().trimmed().toStdString();
  if (c.model.empty()) fail("model", "choose a model (smollm2, demo, an HF folder or a GGUF file)");
  c.workload = workload_->currentText().trimmed().toStdString();
  if (c.workload.empty()) fail("workload", "choose a workload file (JSONL)");
  c.backend = backend_->currentText().toStdString();
  const std::string pool = pool_->text().trimmed().toStdString();
  if (pool.empty() || pool == "auto") c.kv_pool_bytes.reset();
  else c.kv_pool_bytes = parse_bytes(pool, "KV pool");
  c.kv_dtype = kv_dtype_->currentText().toStdString();
  c.kv_rotation = kv_rotation_->currentText().toStdString();
  if (max_requests_->value() > 0) c.max_requests = max_requests_->value();
  else c.max_requests.reset();
  return c;
}

void RunPanel::set_state(RunState state, RunState reference_state) {
  const bool active = run_state_active(state);
  start_->setEnabled(!active);
  pause_->setEnabled(state == RunState::Running);
  resume_->setEnabled(state == RunState::Paused);
  stop_->setEnabled(active);
  for (QWidget* w : {static_cast<QWidget*>(model_), static_cast<QWidget*>(workload_), static_cast<QWidget*>(backend_),
                     static_cast<QWidget*>(pool_), static_cast<QWidget*>(kv_dtype_), static_cast<QWidget*>(kv_rotation_),
                     static_cast<QWidget*>(max_requests_)}) {
    w->setEnabled(!active);
  }
  const bool reference_active = run_state_active(reference_state);
  reference_->setText(reference_active ? tr("Stop reference run") : tr("Reference run (full KV)"));
  reference_->setEnabled(reference_active || state != RunState::Idle);
}

void RunPanel::browse_model_folder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("HF model folder (config.json, *.safetensors)"));
  if (!dir.isEmpty()) choose(model_, dir);
}

void RunPanel::browse_model_file() {
  const QString file = QFileDialog::getOpenFileName(this, tr("GGUF model"), QString(), tr("GGUF (*.gguf);;All files (*)"));
  if (!file.isEmpty()) choose(model_, file);
}

void RunPanel::browse_workload() {
  const QString start = QFileInfo(workload_->currentText()).absolutePath();
  const QString file = QFileDialog::getOpenFileName(this, tr("Workload"), start, tr("JSONL (*.jsonl);;All files (*)"));
  if (!file.isEmpty()) choose(workload_, file);
}

}  // namespace kvwb
