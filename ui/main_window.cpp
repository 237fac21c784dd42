#include "ui/main_window.h"

#include <algorithm>

#include <QFileInfo>
#include <QGuiApplication>
#include <QScreen>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include "engine/core/error.h"
#include "engine/workload/workload.h"
#include "ui/controller/default_run.h"
#include "ui/controller/run_controller.h"
#include "ui/controller/sweep_runner.h"
#include "ui/controller/try_runner.h"
#include "ui/models/budget_form_model.h"
#include "ui/models/task_accuracy_model.h"
#include "ui/widgets/budget_panel.h"
#include "ui/widgets/live_panel.h"
#include "ui/widgets/run_panel.h"
#include "ui/widgets/session_panel.h"
#include "ui/widgets/sweep_panel.h"
#include "ui/widgets/token_view.h"
#include "ui/widgets/try_panel.h"

namespace kvwb {

MainWindow::MainWindow(const RunConfig& initial, QWidget* parent, RunLoopOptions options)
    : QMainWindow(parent), initial_(initial) {
  controller_ = new RunController(this, options);
  try_runner_ = new TryRunner(controller_->models(), this);
  budget_ = new BudgetFormModel(this);
  budget_->load(initial);
  build();
  setWindowTitle(tr("kvwb — KV-cache compression workbench"));

  connect(controller_, &RunController::snapshot, this, &MainWindow::on_snapshot);
  connect(controller_, &RunController::referenceSnapshot, live_, &LivePanel::add_reference_snapshot);
  connect(controller_, &RunController::stateChanged, this, &MainWindow::on_state);
  connect(controller_, &RunController::referenceStateChanged, this, [this](RunState state, qint64) {
    run_panel_->set_state(controller_->state(), state);
    if (state == RunState::Finished) show_message(tr("Reference run (full KV) finished."), false);
  });
  connect(controller_, &RunController::failed, this, [this](const QString& m) { show_message(m, true); });
  connect(controller_, &RunController::referenceFailed, this,
          [this](const QString& m) { show_message(tr("Reference run: %1").arg(m), true); });
  connect(controller_, &RunController::configRejected, this, [this](const QString& m) {
    budget_panel_->set_status(tr("Not applied: %1").arg(m), true);
  });
  connect(run_panel_, &RunPanel::startRequested, this, &MainWindow::start_run);
  connect(run_panel_, &RunPanel::pauseRequested, controller_, &RunController::pause);
  connect(run_panel_, &RunPanel::resumeRequested, controller_, &RunController::resume);
  connect(run_panel_, &RunPanel::stopRequested, controller_, &RunController::stop);
  connect(run_panel_, &RunPanel::referenceRequested, this, [this] {
    if (run_state_active(controller_->reference_state())) controller_->stop_reference();
    else start_reference();
  });
  connect(budget_panel_, &BudgetPanel::applyRequested, this, &MainWindow::apply_budget);
}

MainWindow::~MainWindow() = default;

void MainWindow::build() {
  auto* left = new QWidget(this);
  auto* left_layout = new QVBoxLayout(left);
  run_panel_ = new RunPanel(left);
  QStringList models, workloads;
  for (const std::string& m : available_models()) models << QString::fromStdString(m);
  for (const std::string& w : list_workloads(find_data_dir())) workloads << QString::fromStdString(w);
  run_panel_->set_choices(models, workloads);
  run_panel_->select(initial_);
  budget_panel_ = new BudgetPanel(budget_, left);
  left_layout->addWidget(run_panel_);
  left_layout->addWidget(budget_panel_);
  left_layout->addStretch(1);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(left);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(left->sizeHint().width() + 24);

  live_ = new LivePanel(this);
  connect(live_->token_view(), &TokenView::traceRequested, this, &MainWindow::trace_request);

  try_panel_ = new TryPanel(
      try_runner_,
      [this] {
        try {
          return current_config();
        } catch (const Error&) {
          return budget_->apply_to(initial_);  // a half-typed pool size must not block Try
        }
      },
      this);
  const QString model = QString::fromStdString(initial_.model);
  try_panel_->set_chat(model == "smollm2" || model.endsWith(".gguf"));

  tabs_ = new QTabWidget(this);
  tabs_->addTab(live_, tr("Live"));
  tabs_->addTab(try_panel_, tr("Try"));
  // The Sweep tab runs its own points (the Run panel's config is each point's base).
  auto* sweep = new SweepPanel(new SweepRunner(controller_->models(), this), [this] { return current_config(); }, this);
  tabs_->addTab(sweep, tr("Sweep"));
  session_panel_ = new SessionPanel(this);
  tabs_->addTab(session_panel_, tr("Sessions"));
  // A sweep point's session opens in the browser too (the Sweep tab keeps its comparison text).
  connect(sweep, &SweepPanel::sessionOpened, this, [this](const QString& db, qint64 id) {
    session_panel_->set_db_path(db);
    if (session_panel_->open_db()) session_panel_->reopen(id);
  });

  auto* center = new QWidget(this);
  auto* center_layout = new QVBoxLayout(center);
  center_layout->setContentsMargins(0, 0, 0, 0);
  message_ = new QLabel(center);
  message_->setWordWrap(true);
  message_->hide();
  center_layout->addWidget(message_);
  center_layout->addWidget(tabs_, 1);

  auto* main = new QSplitter(Qt::Horizontal, this);
  main->addWidget(scroll);
  main->addWidget(center);
  main->setStretchFactor(1, 1);
  setCentralWidget(main);

  state_label_ = new QLabel(tr("idle"), this);
  step_label_ = new QLabel(this);
  batch_label_ = new QLabel(this);
  memory_label_ = new QLabel(this);
  rate_label_ = new QLabel(this);
  requests_label_ = new QLabel(this);
  for (QLabel* l : {state_label_, step_label_, batch_label_, memory_label_, rate_label_, requests_label_}) {
    statusBar()->addPermanentWidget(l);
  }
  // As large as the work needs, never larger than the screen it opens on.
  QSize size(1400, 900);
  if (const QScreen* screen = QGuiApplication::primaryScreen()) {
    const QSize available = screen->availableGeometry().size();
    size = size.boundedTo(QSize(available.width() * 95 / 100, available.height() * 90 / 100));
  }
  resize(size);
  refresh_workload_ids(initial_.workload);
}

void MainWindow::refresh_workload_ids(const std::string& workload) {
  workload_ids_.clear();
  try {
    if (!workload.empty()) {
      for (const Request& r : load_workload(workload).requests) workload_ids_ << QString::fromStdString(r.id);
    }
  } catch (const Error&) {
    // A bad file is reported when the run starts; the token view offers nothing to trace.
  }
  live_->token_view()->set_traceable(workload_ids_, requested_traces_);
}

void MainWindow::trace_request(const QString& request_id) {
  if (!requested_traces_.contains(request_id)) requested_traces_ << request_id;
  live_->token_view()->set_traceable(workload_ids_, requested_traces_);
}

RunConfig MainWindow::current_config() const {
  RunConfig c = budget_->apply_to(run_panel_->fill(initial_));
  if (!requested_traces_.isEmpty()) {
    if (c.trace_sequences.empty()) {  // the default first two stay traced
      for (int i = 0; i < std::min<int>(2, static_cast<int>(workload_ids_.size())); ++i) {
        c.trace_sequences.push_back(workload_ids_[i].toStdString());
      }
    }
    for (const QString& id : requested_traces_) {
      if (std::find(c.trace_sequences.begin(), c.trace_sequences.end(), id.toStdString()) == c.trace_sequences.end()) {
        c.trace_sequences.push_back(id.toStdString());
      }
    }
  }
  return c;
}

void MainWindow::start_run() {
  RunConfig config;
  try {
    config = current_config();
    validate(config, "run config");
  } catch (const Error& e) {
    show_message(QString::fromStdString(e.what()), true);
    return;
  }
  live_->clear();
  refresh_workload_ids(config.workload);
  requests_total_ = 0;
  message_->hide();
  budget_panel_->set_status(QString(), false);
  controller_->start(config);
  run_panel_->set_state(RunState::Loading, controller_->reference_state());
  state_label_->setText(tr("loading %1").arg(QFileInfo(QString::fromStdString(config.model)).fileName()));
}

void MainWindow::start_reference() {
  live_->clear_reference();
  controller_->start_reference();
  run_panel_->set_state(controller_->state(), RunState::Loading);
  show_message(tr("Reference run (full KV) started on the same workload."), false);
}

void MainWindow::apply_budget() {
  if (!run_state_active(controller_->state())) {
    budget_panel_->set_status(tr("Applies at the next start."), false);
    return;
  }
  const RunConfig next = budget_->apply_to(controller_->started_config());
  controller_->update_config(next);
  budget_panel_->set_status(tr("Sent: applies between two steps…"), false);
}

void MainWindow::on_snapshot(const RunSnapshot& s) {
  if (!s.task_totals.empty()) {
    requests_total_ = 0;
    for (const auto& [task, n] : s.task_totals) requests_total_ += n;
  }
  live_->add_snapshot(s);
  if (!s.marks.empty()) {
    const ConfigMark& m = s.marks.back();
    budget_panel_->set_status(tr("Applied at step %1: %2").arg(m.step).arg(QString::fromStdString(m.text)), false);
  }
  update_status(s);
}

void MainWindow::on_state(RunState state, qint64 steps) {
  run_panel_->set_state(state, controller_->reference_state());
  state_label_->setText(QString::fromLatin1(run_state_name(state)));
  if (state == RunState::Finished) show_message(tr("Run finished after %1 steps.").arg(steps), false);
}

void MainWindow::show_message(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? QStringLiteral("color: #d04040; font-weight: bold;") : QString());
  message_->show();
}

void MainWindow::update_status(const RunSnapshot& s) {
  const RunSeries& series = live_->series();
  if (!series.has_points()) return;
  const StepPoint p = series.last_point();
  step_label_->setText(tr("step %1").arg(p.step));
  batch_label_->setText(tr("batch %1 running, %2 waiting").arg(p.running).arg(p.waiting));
  memory_label_->setText(QString::fromStdString(kv_memory_text(p)));
  rate_label_->setText(tr("%1 gen tok/s, %2 total tok/s")
                           .arg(p.generated_per_second, 0, 'f', 0)
                           .arg(p.total_per_second, 0, 'f', 0));
  requests_label_->setText(tr("%1 / %2 requests").arg(s.summary.requests > 0 ? static_cast<qint64>(live_->accuracy()->overall().done) : 0)
                               .arg(requests_total_ > 0 ? requests_total_ : s.summary.requests));
}

TimePlots* MainWindow::plots() const { return live_->plots(); }
TaskAccuracyModel* MainWindow::accuracy() const { return live_->accuracy(); }
HeatmapPlot* MainWindow::retention_plot() const { return live_->retention_plot(); }
LiveEvictionView* MainWindow::live_eviction() const { return live_->live_eviction(); }
TokenView* MainWindow::token_view() const { return live_->token_view(); }
QTabWidget* MainWindow::live_side_tabs() const { return live_->side_tabs(); }
const RunSeries& MainWindow::series() const { return live_->series(); }

QString MainWindow::message() const { return message_->isHidden() ? QString() : message_->text(); }

QString MainWindow::status_text() const {
  QStringList parts;
  for (QLabel* l : {state_label_, step_label_, batch_label_, memory_label_, rate_label_, requests_label_}) {
    if (!l->text().isEmpty()) parts << l->text();
  }
  return parts.join(" | ");
}

}  // namespace kvwb
