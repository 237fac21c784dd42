#include "ui/widgets/try_panel.h"

#include <cmath>
#include <limits>

#include <QCheckBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/controller/try_runner.h"
#include "ui/widgets/heatmap_plot.h"

namespace kvwb {
namespace {

QString budget_text(const PolicyConfig& p) {
  if (p.name == "full") return QStringLiteral("full KV");
  QString budget = p.budget_ratio ? QStringLiteral("ratio %1").arg(*p.budget_ratio)
                                  : QStringLiteral("%1 tokens").arg(p.budget_tokens.value_or(0));
  return QStringLiteral("%1, %2 per %3").arg(QString::fromStdString(p.name), budget, QString::fromStdString(p.budget_scope));
}

}  // namespace

TryPanel::TryPanel(TryRunner* runner, std::function<RunConfig()> current_config, QWidget* parent)
    : QWidget(parent), runner_(runner), current_config_(std::move(current_config)) {
  auto* layout = new QVBoxLayout(this);
  prompt_ = new QPlainTextEdit(this);
  prompt_->setPlaceholderText(tr("Type a prompt (or a chat message) and press Run"));
  prompt_->setMaximumHeight(90);
  layout->addWidget(prompt_);

  auto* bar = new QHBoxLayout;
  chat_ = new QCheckBox(tr("Chat message"), this);
  chat_->setToolTip(tr("Send the text as a user message through the model's chat template"));
  max_tokens_ = new QSpinBox(this);
  max_tokens_->setRange(1, 4096);
  max_tokens_->setValue(48);
  max_tokens_->setPrefix(tr("max new tokens: "));
  run_ = new QPushButton(tr("Run"), this);
  stop_ = new QPushButton(tr("Stop"), this);
  stop_->setEnabled(false);
  bar->addWidget(chat_);
  bar->addWidget(max_tokens_);
  bar->addStretch(1);
  bar->addWidget(run_);
  bar->addWidget(stop_);
  layout->addLayout(bar);

  auto* answers = new QGridLayout;
  policy_title_ = new QLabel(tr("Under the current policy"), this);
  policy_answer_ = new QPlainTextEdit(this);
  policy_answer_->setReadOnly(true);
  full_answer_ = new QPlainTextEdit(this);
  full_answer_->setReadOnly(true);
  answers->addWidget(policy_title_, 0, 0);
  answers->addWidget(new QLabel(tr("Full KV"), this), 0, 1);
  answers->addWidget(policy_answer_, 1, 0);
  answers->addWidget(full_answer_, 1, 1);
  layout->addLayout(answers, 1);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  layout->addWidget(status_);
  map_plot_ = new HeatmapPlot(tr("token position"), tr("layer × KV head"), tr("evicted at step"), this);
  map_plot_->setToolTip(tr("Empty cells are kept; coloured cells were evicted, coloured by the engine step"));
  layout->addWidget(map_plot_, 2);

  map_timer_ = new QTimer(this);
  map_timer_->setInterval(100);  // the map is large: 10 Hz is plenty
  connect(map_timer_, &QTimer::timeout, this, &TryPanel::refresh_map);

  connect(run_, &QPushButton::clicked, this, &TryPanel::run);
  connect(stop_, &QPushButton::clicked, this, [this] {
    runner_->cancel();
    run_->setEnabled(true);
    stop_->setEnabled(false);
    map_timer_->stop();
    status_->setText(tr("Stopped."));
  });
  connect(runner_, &TryRunner::started, this, &TryPanel::on_started);
  connect(runner_, &TryRunner::evictions, this, &TryPanel::on_evictions);
  connect(runner_, &TryRunner::policyProgress, this, [this](qint64 step, qint64 prefilled, qint64 generated, qint64 evicted) {
    status_->setText(tr("Compressed run: step %1, prompt %2 / %3 tokens, %4 generated, %5 KV slots evicted")
                         .arg(step)
                         .arg(prefilled)
                         .arg(prompt_tokens_)
                         .arg(generated)
                         .arg(evicted));
  });
  connect(runner_, &TryRunner::policyAnswer, this, [this](const QString& text, qint64 tokens) {
    policy_answer_->setPlainText(text);
    status_->setText(tr("Compressed answer: %1 tokens, %2 KV slots evicted. Full KV is streaming…")
                         .arg(tokens)
                         .arg(map_.evicted_count()));
  });
  connect(runner_, &TryRunner::fullPiece, this, [this](const QString& piece) {
    full_answer_->moveCursor(QTextCursor::End);
    full_answer_->insertPlainText(piece);
  });
  connect(runner_, &TryRunner::fullAnswer, this, [this](const QString& text, qint64) { full_answer_->setPlainText(text); });
  connect(runner_, &TryRunner::finished, this, [this](double agreement) {
    run_->setEnabled(true);
    stop_->setEnabled(false);
    refresh_map();
    map_timer_->stop();
    status_->setText(tr("Done: %1 KV slots evicted; the answers agree on %2% of their tokens.")
                         .arg(map_.evicted_count())
                         .arg(100.0 * agreement, 0, 'f', 1));
    emit finished(agreement);
  });
  connect(runner_, &TryRunner::failed, this, [this](const QString& message) {
    run_->setEnabled(true);
    stop_->setEnabled(false);
    map_timer_->stop();
    status_->setText(tr("Failed: %1").arg(message));
  });
}

void TryPanel::set_prompt(const QString& text) { prompt_->setPlainText(text); }

void TryPanel::set_chat(bool chat) { chat_->setChecked(chat); }

QString TryPanel::policy_answer() const { return policy_answer_->toPlainText(); }

QString TryPanel::full_answer() const { return full_answer_->toPlainText(); }

void TryPanel::run() {
  const QString text = prompt_->toPlainText();
  if (text.trimmed().isEmpty()) {
    status_->setText(tr("Type a prompt first."));
    return;
  }
  TryRequest request;
  request.config = current_config_();
  request.prompt = text.toStdString();
  request.chat = chat_->isChecked();
  request.max_new_tokens = max_tokens_->value();
  policy_title_->setText(tr("Under %1").arg(budget_text(request.config.policy)));
  policy_answer_->clear();
  full_answer_->clear();
  map_.reset(0, 0, 0);
  refresh_map();
  status_->setText(tr("Loading %1…").arg(QString::fromStdString(request.config.model)));
  run_->setEnabled(false);
  stop_->setEnabled(true);
  runner_->start(request);
  map_timer_->start();
}

void TryPanel::on_started(qint64 prompt_tokens, int layers, int kv_heads) {
  prompt_tokens_ = prompt_tokens;
  map_.reset(prompt_tokens, layers, kv_heads);
}

void TryPanel::on_evictions(const EvictionBatch& batch) {
  for (const EvictionRecord& r : batch.records) map_.add(r);
}

void TryPanel::refresh_map() {
  if (map_.revision() == drawn_revision_) return;
  drawn_revision_ = map_.revision();
  const int nx = static_cast<int>(map_.positions());
  const int ny = map_.rows();
  std::vector<double> cells(static_cast<size_t>(nx) * static_cast<size_t>(ny), std::numeric_limits<double>::quiet_NaN());
  for (int y = 0; y < ny; ++y) {
    for (int x = 0; x < nx; ++x) {
      const int32_t step = map_.evicted_at(y, x);
      if (step != LiveEvictionMap::kKept) cells[static_cast<size_t>(y) * static_cast<size_t>(nx) + static_cast<size_t>(x)] = step;
    }
  }
  map_plot_->set_cells(nx, ny, cells);
}

}  // namespace kvwb
