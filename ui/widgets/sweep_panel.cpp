#include "ui/widgets/sweep_panel.h"

#include <cmath>
#include <exception>

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "kernels/kv_dtype.h"
#include "run/sweep/sweep.h"
#include "run/sweep/sweep_lists.h"
#include "sessions/session_compare.h"
#include "sessions/session_store.h"
#include "ui/controller/sweep_runner.h"
#include "ui/widgets/frontier_plot.h"

namespace kvwb {
namespace {

QString number(double v, int decimals) { return std::isnan(v) ? QStringLiteral("–") : QString::number(v, 'f', decimals); }

const QStringList kColumns = {"", "policy", "budget", "chunk", "mean batch", "max batch", "tok/s", "vs full",
                              "accuracy", "fidelity", "session"};

}  // namespace

SweepPanel::SweepPanel(SweepRunner* runner, std::function<RunConfig()> current_config, QWidget* parent)
    : QWidget(parent),
      runner_(runner),
      current_config_(std::move(current_config)),
      analysis_(std::make_shared<const SweepAnalysis>()) {
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  policies_ = new QLineEdit(QStringLiteral("decode-only,batch-max,kv-compress"), this);
  budgets_ = new QLineEdit(QStringLiteral("64,128,256"), this);
  chunks_ = new QLineEdit(this);
  chunks_->setPlaceholderText(tr("the Run panel's prefill chunk"));
  kv_dtypes_ = new QLineEdit(this);
  kv_dtypes_->setPlaceholderText(tr("the Run panel's KV dtype"));
  kv_dtypes_->setToolTip(tr("Comma-separated, e.g. f16,q8_0,q4_0 (of %1); given, the reference is full KV at f32 and "
                            "each dtype's full KV is a point")
                             .arg(QString::fromStdString(kernels::kv_dtype_names())));
  min_accuracy_ = new QDoubleSpinBox(this);
  min_accuracy_->setRange(0, 1);
  min_accuracy_->setSingleStep(0.01);
  min_accuracy_->setDecimals(3);
  min_accuracy_->setValue(0.96);
  db_ = new QLineEdit(QString::fromStdString(default_session_db_path()), this);
  db_->setToolTip(tr("Every point is recorded here; points already recorded with the same config are read back"));
  form->addRow(tr("Policies"), policies_);
  form->addRow(tr("Budgets (tokens)"), budgets_);
  form->addRow(tr("Prefill chunks"), chunks_);
  form->addRow(tr("KV dtypes"), kv_dtypes_);
  form->addRow(tr("Accuracy floor"), min_accuracy_);
  form->addRow(tr("Session database"), db_);
  layout->addLayout(form);

  auto* bar = new QHBoxLayout;
  start_ = new QPushButton(tr("Start sweep"), this);
  stop_ = new QPushButton(tr("Stop after this point"), this);
  stop_->setEnabled(false);
  progress_ = new QProgressBar(this);
  bar->addWidget(start_);
  bar->addWidget(stop_);
  bar->addWidget(progress_, 1);
  layout->addLayout(bar);
  status_ = new QLabel(tr("The KV pool, model, workload and knobs come from the Run and Budget panels."), this);
  status_->setWordWrap(true);
  layout->addWidget(status_);

  auto* split = new QSplitter(Qt::Vertical, this);
  plot_ = new FrontierPlot(split);
  table_ = new QTableWidget(0, static_cast<int>(kColumns.size()), split);
  table_->setHorizontalHeaderLabels(kColumns);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->verticalHeader()->setVisible(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  session_ = new QPlainTextEdit(split);
  session_->setReadOnly(true);
  session_->setPlaceholderText(tr("Click a point to open its session"));
  split->addWidget(plot_);
  split->addWidget(table_);
  split->addWidget(session_);
  layout->addWidget(split, 1);

  connect(start_, &QPushButton::clicked, this, &SweepPanel::start);
  connect(stop_, &QPushButton::clicked, this, [this] {
    runner_->stop();
    stop_->setEnabled(false);
    status_->setText(tr("Stopping after the point running…"));
  });
  connect(plot_, &FrontierPlot::pointClicked, this, &SweepPanel::open_row);
  connect(table_, &QTableWidget::cellClicked, this, [this](int row, int) { open_row(row); });
  connect(runner_, &SweepRunner::pointStarted, this, [this](int i, int n, const QString& label, bool reused) {
    status_->setText(tr("Point %1 of %2: %3%4").arg(i + 1).arg(n).arg(label, reused ? tr(" (recorded before)") : ""));
  });
  connect(runner_, &SweepRunner::progress, this, [this](qint64 done, qint64 total) {
    progress_->setRange(0, static_cast<int>(total));
    progress_->setValue(static_cast<int>(done));
  });
  connect(runner_, &SweepRunner::pointFinished, this, &SweepPanel::show_analysis);
  connect(runner_, &SweepRunner::finished, this, [this](const SweepAnalysisPtr& analysis) {
    show_analysis(analysis);
    const SweepAnalysis& a = *analysis;
    set_running(false);
    QString text = a.complete ? tr("Done.") : tr("Stopped: start again to resume (recorded points are read back).");
    if (a.recommended) {
      const SweepRow& r = a.rows[*a.recommended];
      text += tr(" Recommended: %1 (%2 tok/s, %3 %4).")
                  .arg(QString::fromStdString(r.point.label))
                  .arg(r.measured.summary.total_tokens_per_second, 0, 'f', 1)
                  .arg(QString::fromStdString(a.accuracy_basis))
                  .arg(r.accuracy, 0, 'f', 3);
    } else if (a.complete) {
      text += tr(" No point reaches the accuracy floor.");
    }
    status_->setText(text);
  });
  connect(runner_, &SweepRunner::failed, this, [this](const QString& message) {
    set_running(false);
    status_->setText(tr("Sweep failed: %1").arg(message));
  });
}

void SweepPanel::set_grid(const QString& policies, const QString& budgets, const QString& chunks,
                          const QString& kv_dtypes) {
  policies_->setText(policies);
  budgets_->setText(budgets);
  chunks_->setText(chunks);
  kv_dtypes_->setText(kv_dtypes);
}

SweepPanel::~SweepPanel() = default;

const SweepAnalysis& SweepPanel::analysis() const { return *analysis_; }

void SweepPanel::set_min_accuracy(double floor) { min_accuracy_->setValue(floor); }
void SweepPanel::set_db_path(const QString& path) { db_->setText(path); }
QString SweepPanel::status() const { return status_->text(); }
QString SweepPanel::session_text() const { return session_->toPlainText(); }

void SweepPanel::start() {
  SweepRequest request;
  try {
    request.base = current_config_();
    request.grid.policies = split_list(policies_->text().toStdString(), "policies");
    if (!budgets_->text().trimmed().isEmpty()) {
      request.grid.budget_tokens = parse_int_list(budgets_->text().toStdString(), "budgets");
    }
    if (!chunks_->text().trimmed().isEmpty()) {
      request.grid.prefill_chunks = parse_int_list(chunks_->text().toStdString(), "prefill chunks");
    }
    if (!kv_dtypes_->text().trimmed().isEmpty()) {
      request.grid.kv_dtypes = parse_kv_dtype_list(kv_dtypes_->text().toStdString(), "KV dtypes");
    }
    sweep_points(request.base, request.grid);  // a bad grid is reported now, not from the worker
  } catch (const std::exception& e) {
    status_->setText(tr("Cannot start: %1").arg(QString::fromUtf8(e.what())));
    return;
  }
  request.db_path = db_->text().toStdString();
  request.min_accuracy = min_accuracy_->value();
  running_db_ = db_->text();
  show_analysis(std::make_shared<const SweepAnalysis>());
  session_->clear();
  progress_->setRange(0, 0);  // busy until the first progress report
  set_running(true);
  status_->setText(tr("Starting…"));
  runner_->start(request);
}

void SweepPanel::set_running(bool running) {
  start_->setEnabled(!running);
  stop_->setEnabled(running);
  if (!running) {
    progress_->setRange(0, 1);
    progress_->setValue(1);
  }
}

void SweepPanel::show_analysis(std::shared_ptr<const SweepAnalysis> analysis) {
  analysis_ = std::move(analysis);
  plot_->set_analysis(analysis_);
  const SweepAnalysis& a = *analysis_;
  table_->setRowCount(static_cast<int>(a.rows.size()));
  const SweepRow* reference = nullptr;
  for (const SweepRow& r : a.rows) {
    if (r.point.reference) reference = &r;
  }
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const SweepRow& r = a.rows[i];
    const RunSummary& s = r.measured.summary;
    const PolicyConfig& p = r.point.config.policy;
    const double vs_full = reference && reference->measured.summary.total_tokens_per_second > 0
                               ? s.total_tokens_per_second / reference->measured.summary.total_tokens_per_second
                               : std::nan("");
    const bool recommended = a.recommended && *a.recommended == i;
    const QStringList cells = {
        QString(r.frontier ? "*" : "") + (recommended ? "<" : ""),
        QString::fromStdString(p.name),
        p.budget_tokens ? QString::number(*p.budget_tokens) : QStringLiteral("–"),
        QString::number(r.point.config.prefill_chunk),
        QString::number(s.mean_batch, 'f', 2),
        QString::number(s.max_batch),
        QString::number(s.total_tokens_per_second, 'f', 1),
        number(vs_full, 2) + "x",
        number(r.accuracy, 3),
        number(r.vs_reference.fidelity, 3),
        QStringLiteral("#%1%2").arg(r.measured.session_id).arg(r.measured.reused ? tr(" (recorded before)") : "")};
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      if (recommended) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
      }
      table_->setItem(static_cast<int>(i), c, item);
    }
  }
}

void SweepPanel::open_row(int row) {
  if (row < 0 || row >= static_cast<int>(analysis_->rows.size())) return;
  const SweepRow& r = analysis_->rows[static_cast<size_t>(row)];
  table_->selectRow(row);
  int64_t reference_id = 0;
  for (const SweepRow& x : analysis_->rows) {
    if (x.point.reference) reference_id = x.measured.session_id;
  }
  try {
    SessionStore store = SessionStore::open(running_db_.toStdString(), sqlite::OpenMode::read_only);
    const Session point = store.load(r.measured.session_id);
    QString text = tr("Session #%1: %2\n\n").arg(point.info.id).arg(QString::fromStdString(point.info.name));
    if (reference_id != 0 && reference_id != point.info.id) {
      text += QString::fromStdString(format_comparison(compare_sessions(store.load(reference_id), point)));
    } else {
      text += QString::fromStdString(point.summary.dump(2));
    }
    session_->setPlainText(text);
  } catch (const std::exception& e) {
    session_->setPlainText(tr("Cannot open session #%1: %2").arg(r.measured.session_id).arg(QString::fromUtf8(e.what())));
  }
  emit sessionOpened(running_db_, r.measured.session_id);
}

}  // namespace kvwb
