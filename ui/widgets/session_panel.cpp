#include "ui/widgets/session_panel.h"

#include <algorithm>
#include <filesystem>
#include <functional>

#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "engine/core/error.h"
#include "profiler/chrome_trace.h"
#include "sessions/config_export.h"
#include "sessions/session_compare.h"
#include "sessions/session_store.h"
#include "sessions/session_trace.h"
#include "ui/models/comparison_model.h"
#include "ui/models/session_list_model.h"
#include "ui/models/steps_csv.h"
#include "ui/models/token_traces.h"
#include "ui/widgets/op_timeline.h"
#include "ui/widgets/plot_export.h"
#include "ui/widgets/recorded_run_view.h"
#include "ui/widgets/time_plots.h"
#include "ui/widgets/token_view.h"

namespace kvwb {
namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

SessionPanel::SessionPanel(QWidget* parent) : QWidget(parent) {
  loader_ = new SessionLoader(this);
  list_ = new SessionListModel(this);
  comparison_model_ = new ComparisonModel(this);
  build();
  connect(loader_, &SessionLoader::progress, this, [this](qint64 done, qint64 total) {
    progress_->setMaximum(static_cast<int>(std::max<qint64>(total, 1)));
    progress_->setValue(static_cast<int>(done));
  });
  connect(loader_, &SessionLoader::loaded, this, &SessionPanel::on_loaded);
  connect(loader_, &SessionLoader::failed, this, [this](const QString& m) {
    set_loading(false);
    show_status(m, true);
  });
  connect(loader_, &SessionLoader::cancelled, this, [this] {
    set_loading(false);
    show_status(tr("Loading cancelled."), false);
  });
}

SessionPanel::~SessionPanel() = default;

void SessionPanel::build() {
  auto* layout = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  db_ = new QLineEdit(q(default_session_db_path()), this);
  auto* browse = new QPushButton(tr("…"), this);
  browse->setToolTip(tr("Choose a session database"));
  auto* open = new QPushButton(tr("Open"), this);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Session database"), db_->text(),
                                                   tr("Session databases (*.db);;All files (*)"));
    if (!f.isEmpty()) {
      db_->setText(f);
      open_db();
    }
  });
  connect(open, &QPushButton::clicked, this, &SessionPanel::open_db);
  connect(db_, &QLineEdit::returnPressed, this, &SessionPanel::open_db);
  bar->addWidget(new QLabel(tr("Database:"), this));
  bar->addWidget(db_, 1);
  bar->addWidget(browse);
  bar->addWidget(open);
  layout->addLayout(bar);

  table_ = new QTableView(this);
  table_->setModel(list_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setAlternatingRowColors(true);
  connect(table_, &QTableView::doubleClicked, this,
          [this](const QModelIndex& i) { reopen(i.data(SessionListModel::kIdRole).toLongLong()); });

  auto* actions = new QHBoxLayout;
  reopen_ = new QPushButton(tr("Reopen"), this);
  reopen_->setToolTip(tr("Show the selected session's recorded run in the plots below"));
  compare_ = new QPushButton(tr("Compare"), this);
  compare_->setToolTip(tr("Select two sessions: overlaid plots and their differences"));
  auto* rename_button = new QPushButton(tr("Rename…"), this);
  auto* note_button = new QPushButton(tr("Note…"), this);
  auto* delete_button = new QPushButton(tr("Delete…"), this);
  auto* export_button = new QPushButton(tr("Export ▾"), this);
  auto* export_menu = new QMenu(export_button);
  export_button->setMenu(export_menu);
  for (QPushButton* b : {reopen_, compare_, rename_button, note_button, delete_button, export_button}) actions->addWidget(b);
  actions->addStretch(1);
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(200);
  progress_->hide();
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->hide();
  connect(cancel_, &QPushButton::clicked, this, &SessionPanel::cancel_load);
  actions->addWidget(progress_);
  actions->addWidget(cancel_);

  connect(reopen_, &QPushButton::clicked, this, [this] {
    if (const qint64 id = single_selection()) reopen(id);
  });
  connect(compare_, &QPushButton::clicked, this, [this] {
    const QList<qint64> ids = selected_sessions();
    if (ids.size() != 2) return show_status(tr("Select two sessions to compare."), true);
    compare(ids[0], ids[1]);
  });
  connect(rename_button, &QPushButton::clicked, this, [this] {
    const qint64 id = single_selection();
    const int row = list_->row_of(id);
    if (row < 0) return;
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Rename session"), tr("Name:"), QLineEdit::Normal,
                                               q(list_->rows()[static_cast<size_t>(row)].info.name), &ok);
    if (ok) rename(id, name);
  });
  connect(note_button, &QPushButton::clicked, this, [this] {
    const qint64 id = single_selection();
    const int row = list_->row_of(id);
    if (row < 0) return;
    bool ok = false;
    const QString note = QInputDialog::getMultiLineText(this, tr("Annotate session"), tr("Note:"),
                                                        q(list_->rows()[static_cast<size_t>(row)].info.description), &ok);
    if (ok) annotate(id, note);
  });
  connect(delete_button, &QPushButton::clicked, this, [this] {
    const qint64 id = single_selection();
    if (id == 0) return;
    if (QMessageBox::question(this, tr("Delete session"), tr("Delete session #%1 and everything recorded in it?").arg(id)) ==
        QMessageBox::Yes) {
      remove(id);
    }
  });
  auto add_export = [this, export_menu](const QString& label, const QString& filter, const QString& suffix,
                                        bool (SessionPanel::*action)(const QString&)) {
    connect(export_menu->addAction(label), &QAction::triggered, this, [=, this] {
      if (!require_shown()) return;
      const QString base = QStringLiteral("session-%1.%2").arg(shown_->session.info.id).arg(suffix);
      const QString f = QFileDialog::getSaveFileName(this, label, base, filter);
      if (!f.isEmpty()) (this->*action)(f);
    });
  };
  add_export(tr("Session as a standalone database…"), tr("Session database (*.db)"), "db", &SessionPanel::export_session);
  add_export(tr("Tuned config (JSON, serving flags)…"), tr("Run config (*.json)"), "json", &SessionPanel::export_config);
  add_export(tr("Steps as CSV…"), tr("CSV (*.csv)"), "csv", &SessionPanel::export_csv);
  add_export(tr("Profiler trace (Chrome JSON)…"), tr("Chrome trace (*.json)"), "trace.json", &SessionPanel::export_trace);
  add_export(tr("Plots (PNG or SVG)…"), tr("PNG image (*.png);;SVG image (*.svg)"), "png", &SessionPanel::save_plots);

  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  run_view_ = new RecordedRunView(this);

  compare_view_ = new QTableView(this);
  compare_view_->setModel(comparison_model_);
  compare_view_->verticalHeader()->hide();
  compare_view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  compare_view_->setAlternatingRowColors(true);

  views_ = new QTabWidget(this);
  views_->addTab(run_view_, tr("Recorded run"));
  views_->addTab(compare_view_, tr("Comparison"));
  timeline_ = new OpTimeline(this);
  views_->addTab(timeline_, tr("Op timeline"));
  token_view_ = new TokenView(this);
  token_view_->set_traceable_visible(false);  // a recording shows the requests it traced
  views_->addTab(token_view_, tr("Tokens"));

  auto* split = new QSplitter(Qt::Vertical, this);
  auto* top = new QWidget(this);
  auto* top_layout = new QVBoxLayout(top);
  top_layout->setContentsMargins(0, 0, 0, 0);
  top_layout->addWidget(table_, 1);
  top_layout->addLayout(actions);
  top_layout->addWidget(status_);
  split->addWidget(top);
  split->addWidget(views_);
  split->setSizes({220, 620});
  layout->addWidget(split, 1);
}

void SessionPanel::scrub(int snapshot) { run_view_->scrub(snapshot); }
void SessionPanel::set_sequence(const QString& request_id) { run_view_->set_sequence(request_id); }
void SessionPanel::set_fraction(bool fraction) { run_view_->set_fraction(fraction); }
void SessionPanel::open_eviction_map(int layer, int head) { run_view_->open_eviction_map(layer, head); }
void SessionPanel::set_all_heads(bool all_heads) { run_view_->set_all_heads(all_heads); }
TimePlots* SessionPanel::plots() const { return run_view_->plots(); }
HeatmapPlot* SessionPanel::retention_plot() const { return run_view_->retention_plot(); }
HeatmapPlot* SessionPanel::eviction_plot() const { return run_view_->eviction_plot(); }

void SessionPanel::set_db_path(const QString& path) { db_->setText(path); }
QString SessionPanel::db_path() const { return db_->text(); }
QString SessionPanel::status() const { return status_->text(); }

void SessionPanel::show_status(const QString& text, bool error) {
  status_->setText(text);
  status_->setStyleSheet(error ? QStringLiteral("color: #d04040;") : QString());
}

bool SessionPanel::open_db() {
  const std::string path = db_->text().toStdString();
  if (!std::filesystem::exists(path)) {
    list_->clear();
    show_status(tr("%1: no session database here (record one with kvwb-cli run --record)").arg(db_->text()), true);
    return false;
  }
  if (!edit_store([](SessionStore&) {}, QString())) {  // nothing to edit: open and list
    list_->clear();
    return false;
  }
  show_status(tr("%1 sessions in %2").arg(list_->rowCount()).arg(db_->text()), false);
  return true;
}

void SessionPanel::select_sessions(const QList<qint64>& ids) {
  table_->clearSelection();
  for (qint64 id : ids) {
    const int row = list_->row_of(id);
    if (row >= 0) table_->selectionModel()->select(list_->index(row, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
  }
}

QList<qint64> SessionPanel::selected_sessions() const {
  QList<qint64> ids;
  for (const QModelIndex& i : table_->selectionModel()->selectedRows()) ids << i.data(SessionListModel::kIdRole).toLongLong();
  std::sort(ids.begin(), ids.end());
  return ids;
}

qint64 SessionPanel::single_selection() {
  const QList<qint64> ids = selected_sessions();
  if (ids.size() != 1) {
    show_status(tr("Select one session."), true);
    return 0;
  }
  return ids.front();
}

void SessionPanel::set_loading(bool loading) {
  progress_->setVisible(loading);
  cancel_->setVisible(loading);
  reopen_->setEnabled(!loading);
  compare_->setEnabled(!loading);
  if (loading) progress_->setValue(0);
}

void SessionPanel::reopen(qint64 id) {
  set_loading(true);
  show_status(tr("Loading session #%1…").arg(id), false);
  loader_->load(db_->text(), id);
}

void SessionPanel::compare(qint64 a, qint64 b) {
  set_loading(true);
  show_status(tr("Loading sessions #%1 and #%2…").arg(a).arg(b), false);
  loader_->load(db_->text(), a, b);
}

void SessionPanel::cancel_load() { loader_->cancel(); }

void SessionPanel::on_loaded(const LoadedSessionPtr& a, const LoadedSessionPtr& b) {
  set_loading(false);
  shown_ = a;
  compared_ = b;
  run_view_->show_session(a, b);
  timeline_->set_trace(session_trace(shown_->session.events));
  token_view_->set_traces(session_token_traces(shown_->session, shown_->replay.layers, shown_->replay.kv_heads));
  const SessionInfo& info = shown_->session.info;
  if (b) {
    comparison_model_->set_comparison(compare_sessions(a->session, b->session));
    views_->setCurrentIndex(1);
    show_status(tr("A: #%1 %2 — B: #%3 %4 (dash-dotted in the plots)")
                    .arg(info.id)
                    .arg(q(info.name))
                    .arg(b->session.info.id)
                    .arg(q(b->session.info.name)),
                false);
  } else {
    comparison_model_->clear();
    views_->setCurrentIndex(0);
    show_status(tr("#%1 %2: %3 steps, %4 retention snapshots, %5 profiler spans")
                    .arg(info.id)
                    .arg(q(info.name))
                    .arg(shown_->session.steps.size())
                    .arg(shown_->session.retention.size())
                    .arg(shown_->session.events.spans.size()),
                false);
  }
  emit sessionShown(info.id);
}

bool SessionPanel::attempt(const std::function<QString()>& action) {
  try {
    show_status(action(), false);
    return true;
  } catch (const std::exception& e) {
    show_status(QString::fromUtf8(e.what()), true);
    return false;
  }
}

bool SessionPanel::edit_store(const std::function<void(SessionStore&)>& edit, const QString& done) {
  return attempt([&] {
    SessionStore store = SessionStore::open(db_->text().toStdString(), sqlite::OpenMode::read_write);
    edit(store);
    list_->load(store);
    return done;
  });
}

bool SessionPanel::require_shown() {
  if (shown_) return true;
  show_status(tr("Reopen a session first."), true);
  return false;
}

bool SessionPanel::rename(qint64 id, const QString& name) {
  return edit_store([&](SessionStore& store) { store.rename(id, name.toStdString()); },
                    tr("Session #%1 renamed.").arg(id));
}

bool SessionPanel::annotate(qint64 id, const QString& note) {
  return edit_store([&](SessionStore& store) { store.annotate(id, note.toStdString()); },
                    tr("Note of session #%1 saved.").arg(id));
}

bool SessionPanel::remove(qint64 id) {
  return edit_store([&](SessionStore& store) { store.remove(id); }, tr("Session #%1 deleted.").arg(id));
}

bool SessionPanel::export_session(const QString& path) {
  return require_shown() && attempt([&] {
           SessionStore store = SessionStore::open(shown_->db_path, sqlite::OpenMode::read_write);
           store.export_session(shown_->session.info.id, path.toStdString());
           return tr("Session #%1 written to %2").arg(shown_->session.info.id).arg(path);
         });
}

bool SessionPanel::export_config(const QString& path) {
  return require_shown() && attempt([&] {
           const Session& s = shown_->session;
           const std::string where = shown_->db_path + ": session " + std::to_string(s.info.id) + " config";
           const RunConfig config = tuned_config(s.info.config, s.config_changes, std::nullopt, where);
           save_run_config(config, path.toStdString());
           const ServingFlags flags = vllm_kvcompress_flags(config);
           flags_ = q(flags.line());
           QString text = tr("Config written to %1. vLLM-kvcompress flags: %2").arg(path, flags_);
           for (const std::string& w : flags.warnings) text += "\n" + tr("warning: %1").arg(q(w));
           return text;
         });
}

bool SessionPanel::export_csv(const QString& path) {
  return require_shown() && attempt([&] {
           write_steps_csv(shown_->session.steps, path.toStdString());
           return tr("%1 steps written to %2").arg(shown_->session.steps.size()).arg(path);
         });
}

bool SessionPanel::export_trace(const QString& path) {
  return require_shown() && attempt([&] {
           if (shown_->session.events.spans.empty() && shown_->session.events.counters.empty()) {
             fail(shown_->db_path, "session {} has no profiler events (record with kvwb-cli run --record --profile)",
                  shown_->session.info.id);
           }
           write_chrome_trace(session_trace(shown_->session.events), path.toStdString());
           return tr("Trace written to %1 (open it in ui.perfetto.dev)").arg(path);
         });
}

bool SessionPanel::save_plots(const QString& path) {
  return attempt([&] {
    QList<QCustomPlot*> plots;
    for (int id = 0; id < TimePlots::PlotCount; ++id) plots << run_view_->plots()->plot(static_cast<TimePlots::PlotId>(id));
    kvwb::save_plots(plots, path);
    return tr("Plots saved to %1").arg(path);
  });
}

}  // namespace kvwb
