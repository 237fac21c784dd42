#pragma once
// The Sessions tab: the session browser. Opens a session database and lists its sessions with
// their key metrics; reopens one (loaded in the background with progress and cancel) into the
// recorded-run view (recorded_run_view.h: time plots, retention and eviction maps) and the token
// view of the traced requests; renames, annotates and deletes; shows its profiler events as an
// op timeline with per-op statistics; compares two sessions side by side (overlaid time plots and
// the comparison `kvwb-cli sessions compare` prints, as a table); exports the session, its tuned
// config (JSON and serving flags), its steps as CSV, its profiler events as a Chrome trace and
// the plots as PNG (or SVG where Qt SVG is built in).
#include <cstdint>
#include <functional>

#include <QWidget>

#include "ui/controller/session_loader.h"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QTableView;

namespace kvwb {

class ComparisonModel;
class HeatmapPlot;
class OpTimeline;
class RecordedRunView;
class SessionListModel;
class SessionStore;
class TimePlots;
class TokenView;

class SessionPanel : public QWidget {
  Q_OBJECT

 public:
  explicit SessionPanel(QWidget* parent = nullptr);
  ~SessionPanel() override;

  void set_db_path(const QString& path);
  QString db_path() const;
  bool open_db();  // lists the database's sessions; false (and a status line) when it cannot
  void select_sessions(const QList<qint64>& ids);
  QList<qint64> selected_sessions() const;

  void reopen(qint64 id);                 // loads in the background
  void compare(qint64 a, qint64 b);       // both, then the side-by-side view
  void cancel_load();
  bool rename(qint64 id, const QString& name);
  bool annotate(qint64 id, const QString& note);
  bool remove(qint64 id);

  // Exports of the session shown (the first of a comparison); false with a status line on error.
  bool export_session(const QString& path);
  bool export_config(const QString& path);  // JSON; the serving flags go to the status line
  bool export_csv(const QString& path);
  bool export_trace(const QString& path);
  bool save_plots(const QString& path);  // .png, or .svg with Qt SVG

  // The recorded-run view's controls (see recorded_run_view.h).
  void scrub(int snapshot);
  void set_sequence(const QString& request_id);
  void set_fraction(bool fraction);
  void open_eviction_map(int layer, int head);
  void set_all_heads(bool all_heads);

  const LoadedSessionPtr& shown() const { return shown_; }
  const LoadedSessionPtr& compared() const { return compared_; }
  SessionListModel* sessions() const { return list_; }
  ComparisonModel* comparison() const { return comparison_model_; }
  RecordedRunView* run_view() const { return run_view_; }
  TimePlots* plots() const;
  HeatmapPlot* retention_plot() const;
  HeatmapPlot* eviction_plot() const;
  OpTimeline* timeline() const { return timeline_; }
  TokenView* token_view() const { return token_view_; }
  QTabWidget* views() const { return views_; }
  QString status() const;
  QString flags() const { return flags_; }  // serving flags of the last config export

 signals:
  void sessionShown(qint64 id);

 private:
  void build();
  void on_loaded(const LoadedSessionPtr& a, const LoadedSessionPtr& b);
  void show_status(const QString& text, bool error);
  void set_loading(bool loading);
  qint64 single_selection();
  bool require_shown();
  // Runs `action`, showing the line it returns, or its error; false on error.
  bool attempt(const std::function<QString()>& action);
  // Opens the database, applies `edit`, lists the sessions again.
  bool edit_store(const std::function<void(SessionStore&)>& edit, const QString& done);

  SessionLoader* loader_ = nullptr;
  SessionListModel* list_ = nullptr;
  ComparisonModel* comparison_model_ = nullptr;
  QLineEdit* db_ = nullptr;
  QTableView* table_ = nullptr;
  QPushButton *reopen_ = nullptr, *compare_ = nullptr, *cancel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  QTabWidget* views_ = nullptr;
  RecordedRunView* run_view_ = nullptr;
  QTableView* compare_view_ = nullptr;
  OpTimeline* timeline_ = nullptr;
  TokenView* token_view_ = nullptr;
  LoadedSessionPtr shown_, compared_;
  QString flags_;
};

}  // namespace kvwb
