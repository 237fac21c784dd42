#include "ui/widgets/live_panel.h"

#include <cmath>

#include <QHeaderView>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include "engine/runtime/policy.h"
#include "ui/models/retention_budget.h"
#include "ui/models/task_accuracy_model.h"
#include "ui/widgets/heatmap_plot.h"
#include "ui/widgets/live_eviction_view.h"
#include "ui/widgets/time_plots.h"
#include "ui/widgets/token_view.h"

namespace kvwb {

LivePanel::LivePanel(QWidget* parent) : QWidget(parent) {
  accuracy_ = new TaskAccuracyModel(this);
  build();
}

void LivePanel::build() {
  // Plots on the left, accuracy table and retention map on the right.
  plots_ = new TimePlots(this);
  plots_->set_series(&series_);
  accuracy_view_ = new QTableView(this);
  accuracy_view_->setModel(accuracy_);
  accuracy_view_->verticalHeader()->hide();
  accuracy_view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  accuracy_view_->setAlternatingRowColors(true);
  // The retention map's scale spans the cells' own range (relative to the budget), so heads that
  // keep more or less than their share stand out; a uniform budget reads as one middle colour.
  retention_ = new HeatmapPlot(tr("KV head"), tr("layer"), tr("mean retained tokens"), this);
  retention_->set_hover_text([this](int head, int layer, double) {
    if (!last_retention_) return QString();
    return QString::fromStdString(retention_cell_text(*last_retention_, retention_policy_, layer, head)) +
           tr("\nclick: this head's live eviction map");
  });
  live_eviction_ = new LiveEvictionView(this);
  connect(retention_, &HeatmapPlot::cellClicked, this, [this](int head, int layer) { live_eviction_->open(layer, head); });
  auto* heads = new QSplitter(Qt::Vertical, this);
  heads->addWidget(retention_);
  heads->addWidget(live_eviction_);
  token_view_ = new TokenView(this);
  token_timer_ = new QTimer(this);
  token_timer_->setSingleShot(true);
  token_timer_->setInterval(250);
  connect(token_timer_, &QTimer::timeout, this, [this] { token_view_->set_traces(traces_.traces()); });
  side_tabs_ = new QTabWidget(this);
  side_tabs_->addTab(token_view_, tr("Tokens"));
  side_tabs_->addTab(heads, tr("Heads"));
  auto* side = new QSplitter(Qt::Vertical, this);
  side->addWidget(accuracy_view_);
  side->addWidget(side_tabs_);
  side->setStretchFactor(1, 1);
  auto* live = new QSplitter(Qt::Horizontal, this);
  live->addWidget(plots_);
  live->addWidget(side);
  live->setStretchFactor(0, 1);
  live->setStretchFactor(1, 0);
  live->setSizes({520, 520});  // the accuracy table's columns fit beside the plots
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(live);
}

void LivePanel::clear() {
  series_.clear();
  accuracy_->clear();
  live_eviction_->clear();
  traces_.clear();
  token_timer_->stop();
  token_view_->clear();
  last_retention_.reset();
  plots_->set_following(true);
  plots_->refresh_now();
}

void LivePanel::clear_reference() { accuracy_->clear_reference(); }

void LivePanel::add_snapshot(const RunSnapshot& s) {
  if (!s.task_totals.empty()) accuracy_->set_task_totals(s.task_totals);
  series_.add(s);
  if (!s.finished.empty()) {
    accuracy_->add_results(s.finished);
    add_accuracy_points(s.elapsed_seconds);
  }
  if (traces_.add(s) && !token_timer_->isActive()) token_timer_->start();
  if (s.retention) {
    last_retention_ = s.retention;
    retention_policy_ = s.config.policy;
    const RetentionCells cells = retention_vs_budget(*s.retention, s.config.policy);
    retention_->set_scale_label(QString::fromStdString(cells.unit));
    retention_->set_cells(s.retention->kv_heads, s.retention->layers, cells.values);
  }
  const ProtectedSpan protection = protected_span(s.config.policy);
  for (const auto& snapshot : s.retention_snapshots) live_eviction_->add_snapshot(*snapshot, protection);
}

void LivePanel::add_reference_snapshot(const RunSnapshot& s) {
  if (s.finished.empty()) return;
  accuracy_->add_reference_results(s.finished);
  if (series_.has_points()) add_accuracy_points(series_.last_time());
}

void LivePanel::add_accuracy_points(double t) {
  for (const TaskAccuracyModel::Row& row : accuracy_->rows()) {
    if (&row == &accuracy_->overall()) {
      if (!std::isnan(row.score)) series_.add_accuracy(t, row.score, row.fraction_of_full);
    } else {
      series_.add_task_accuracy(t, row.task, row.score, row.fraction_of_full);
    }
  }
}

}  // namespace kvwb
