#pragma once
// The Sweep tab: (KV dtypes x) policies x budgets (x prefill chunks) at the Run panel's KV pool,
// run in the background by a SweepRunner; the frontier plot and the table fill as points are measured;
// clicking a point (plot or table) opens its session: its comparison with the full-KV
// reference session (config differences, metrics with ratios, per-task scores).
// (SweepAnalysis stays forward-declared here: see ui/controller/sweep_runner.h.)
#include <functional>
#include <memory>

#include <QWidget>

#include "engine/config/run_config.h"

class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace kvwb {

class FrontierPlot;
struct SweepAnalysis;
class SweepRunner;

class SweepPanel : public QWidget {
  Q_OBJECT

 public:
  // `current_config` gives the base config (model, workload, KV pool, knobs) of every point.
  SweepPanel(SweepRunner* runner, std::function<RunConfig()> current_config, QWidget* parent = nullptr);
  ~SweepPanel() override;

  void set_grid(const QString& policies, const QString& budgets, const QString& chunks,
                const QString& kv_dtypes = {});  // "" = the Run panel's dtype
  void set_min_accuracy(double floor);
  void set_db_path(const QString& path);
  void start();  // what the Start button does; a bad field shows in the status line
  void open_row(int row);  // what clicking a point does

  const SweepAnalysis& analysis() const;  // what is shown (empty before the first point)
  FrontierPlot* frontier() const { return plot_; }
  QTableWidget* table() const { return table_; }
  QString status() const;
  QString session_text() const;

 signals:
  void sessionOpened(const QString& db_path, qint64 session_id);

 private:
  void show_analysis(std::shared_ptr<const SweepAnalysis> analysis);
  void set_running(bool running);

  SweepRunner* runner_;
  std::function<RunConfig()> current_config_;
  QLineEdit *policies_ = nullptr, *budgets_ = nullptr, *chunks_ = nullptr, *kv_dtypes_ = nullptr, *db_ = nullptr;
  QDoubleSpinBox* min_accuracy_ = nullptr;
  QPushButton *start_ = nullptr, *stop_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  FrontierPlot* plot_ = nullptr;
  QTableWidget* table_ = nullptr;
  QPlainTextEdit* session_ = nullptr;
  std::shared_ptr<const SweepAnalysis> analysis_;
  QString running_db_;
};

}  // namespace kvwb
