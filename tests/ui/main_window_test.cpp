// The real window, offscreen, on the fixture model: a short run fills every time plot, the
// accuracy table and the retention map; a live budget change leaves a mark on the plots; the
// window grabs to a PNG; the plots follow a dark palette.
#include "ui/main_window.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include <QImage>
#include <QPixmap>
#include <QTabWidget>
#include <QTest>
#include <qcustomplot.h>

#include "tests/ui/ui_test_util.h"
#include "ui/controller/run_controller.h"
#include "ui/models/budget_form_model.h"
#include "ui/models/task_accuracy_model.h"
#include "ui/widgets/heatmap_plot.h"
#include "ui/widgets/live_eviction_view.h"
#include "ui/models/session_replay.h"
#include "ui/widgets/time_plots.h"
#include "ui/widgets/token_view.h"

namespace kvwb {
namespace {

using ui_test::wait_until;

RunConfig window_config(const ui_test::TempDir& dir) {
  RunConfig c = ui_test::fixture_config(ui_test::write_workload(dir, 16, 30, 40));
  c.max_batch = 4;
  c.policy.name = "streaming-llm";
  c.policy.budget_tokens = 24;
  c.policy.sinks = 2;
  c.policy.protected_recent = 4;
  return c;
}

TEST(MainWindow, AShortRunFillsThePlotsAndTheWindowGrabsToPng) {
  ui_test::app();
  ui_test::TempDir dir;
  // Retention snapshots often, so a short run has several.
  MainWindow window(window_config(dir), nullptr, RunLoopOptions{30, 0.05, 1.0});
  window.show();
  window.start_run();
  RunController* controller = window.controller();
  // A live change: hold the run (pausing right away makes the test independent of how fast
  // the fixture model runs), set a smaller budget in the form, apply, resume.
  controller->pause();
  ASSERT_TRUE(wait_until([&] { return controller->state() == RunState::Paused; }));
  ASSERT_TRUE(window.budget()->set_value(BudgetFormModel::BudgetTokens, 12));
  window.apply_budget();
  controller->resume();
  ASSERT_TRUE(wait_until([&] { return controller->state() == RunState::Finished; }));
  window.plots()->refresh_now();
  QApplication::processEvents();

  TimePlots* plots = window.plots();
  EXPECT_GT(plots->graph_points(TimePlots::Throughput, 0), 0);
  EXPECT_GT(plots->graph_points(TimePlots::Throughput, 1), 0);
  EXPECT_GT(plots->graph_points(TimePlots::Batch, 0), 0);
  EXPECT_GT(plots->graph_points(TimePlots::Memory, 0), 0);
  EXPECT_GT(plots->graph_points(TimePlots::Memory, 1), 0);
  EXPECT_GT(plots->graph_points(TimePlots::Accuracy, 0), 0);
  // The plots hold what the series hold: one point per step while the run is this short.
  EXPECT_EQ(plots->graph_points(TimePlots::Batch, 0), static_cast<int>(window.series().running.size()));
  ASSERT_EQ(window.series().marks.size(), 1u);
  EXPECT_NE(window.series().marks[0].text.find("budget_tokens 24 -> 12"), std::string::npos);
  EXPECT_EQ(plots->mark_count(), 1);
  EXPECT_EQ(window.accuracy()->overall().done, 16);
  EXPECT_EQ(window.accuracy()->overall().total, 16);
  EXPECT_GT(window.retention_plot()->filled_cells(), 0);
  EXPECT_EQ(window.retention_plot()->cells_y(), 2);  // layers of the fixture model
  // Relative to the budget in force (12 tokens after the change), the scale spanning the
  // cells' own range so that heads keeping more or less than their share stand out.
  EXPECT_EQ(window.retention_plot()->scale_label(), QStringLiteral("% of the 12-token budget"));
  double lowest = 1e300;
  for (int layer = 0; layer < 2; ++layer) {
    for (int head = 0; head < window.retention_plot()->cells_x(); ++head) {
      const double v = window.retention_plot()->value(head, layer);
      if (!std::isnan(v)) lowest = std::min(lowest, v);
    }
  }
  EXPECT_LE(window.retention_plot()->scale_lower(), lowest);
  // One accuracy line per task (the workload's even and odd requests), as many points as the
  // overall line had updates while that task had scored requests, at most.
  EXPECT_GT(plots->task_points("even", false), 0);
  EXPECT_GT(plots->task_points("odd", false), 0);
  EXPECT_LE(plots->task_points("even", false), plots->graph_points(TimePlots::Accuracy, 0));
  EXPECT_EQ(plots->task_points("even", true), -1);  // no reference run: no share of full KV
  // The token view holds the two traced requests (the default), finished.
  ASSERT_TRUE(wait_until([&] { return window.token_view()->traces().size() == 2 && window.token_view()->traces()[1].finished; }));
  // The status bar shows the last step the plots drew.
  const StepPoint last = window.series().last_point();
  EXPECT_TRUE(window.status_text().contains(QStringLiteral("step %1 |").arg(last.step))) << window.status_text().toStdString();
  EXPECT_TRUE(window.status_text().contains(QStringLiteral("/ %1 blocks").arg(last.blocks_total)))
      << window.status_text().toStdString();
  EXPECT_GT(plots->frame_stats().frames(), 0);

  const QPixmap pixmap = window.grab();
  const std::string png = dir.file("window.png");
  ASSERT_TRUE(pixmap.save(QString::fromStdString(png)));
  QImage image(QString::fromStdString(png));
  ASSERT_FALSE(image.isNull());
  EXPECT_EQ(image.size(), window.size());
  std::set<QRgb> colours;
  for (int y = 0; y < image.height(); y += 7) {
    for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
  }
  EXPECT_GT(colours.size(), 20u);  // drawn, not a blank window
  // Each time plot's lines are in the PNG: data lines are drawn without antialiasing, so their
  // pixels have exactly the pen's colour inside the plot's rectangle.
  for (TimePlots::PlotId id : {TimePlots::Throughput, TimePlots::Batch, TimePlots::Memory, TimePlots::Accuracy}) {
    QCustomPlot* p = plots->plot(id);
    const QColor pen = p->graph(0)->pen().color();
    const QRect area = p->axisRect()->rect().translated(p->mapTo(&window, QPoint(0, 0)));
    int hits = 0;
    for (int y = area.top(); y <= area.bottom(); ++y) {
      for (int x = area.left(); x <= area.right(); ++x) hits += image.pixelColor(x, y).rgb() == pen.rgb() ? 1 : 0;
    }
    EXPECT_GT(hits, 20) << "plot " << id << ": no line of colour " << pen.name().toStdString() << " in the PNG";
  }
  if (const char* out = std::getenv("KVWB_SCREENSHOT_DIR")) pixmap.save(QString(out) + "/workbench-test.png");
}

TEST(MainWindow, ClickingTheLiveRetentionMapOpensThatHeadsEvictionMapUpdatingLive) {
  ui_test::app();
  ui_test::TempDir dir;
  // A retention snapshot at every step, and a workload far longer than the test: the run is
  // live when the cell is clicked however fast the machine, and is stopped once the map grew.
  RunConfig config = window_config(dir);
  config.workload = ui_test::write_workload(dir, 2000, 30, 40);
  // Every request traced: whenever the click comes, a sequence with positions is running (the
  // default, the first two, finish within ~40 steps, which a loaded machine can outpace).
  for (int i = 0; i < 2000; ++i) config.trace_sequences.push_back("r" + std::to_string(i));
  MainWindow window(config, nullptr, RunLoopOptions{30, 0.0, 1.0});
  window.resize(1400, 900);
  window.live_side_tabs()->setCurrentIndex(1);  // Heads: the retention map (Tokens comes first)
  window.show();
  window.start_run();
  RunController* controller = window.controller();
  ASSERT_TRUE(wait_until([&] { return window.retention_plot()->filled_cells() > 0; }));
  LiveEvictionView* view = window.live_eviction();
  EXPECT_FALSE(view->is_open());
  QCustomPlot* plot = window.retention_plot()->plot();
  plot->replot();
  QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier,
                    QPoint(plot->xAxis->coordToPixel(0), plot->yAxis->coordToPixel(1)));  // KV head 0, layer 1
  ASSERT_TRUE(view->is_open());
  EXPECT_TRUE(view->isVisible());
  EXPECT_EQ(view->layer(), 1);
  EXPECT_EQ(view->head(), 0);
  const size_t at_click = view->snapshots();
  ASSERT_GT(at_click, 0u);
  EXPECT_EQ(view->plot()->cells_y(), static_cast<int>(at_click));
  EXPECT_EQ(controller->state(), RunState::Running);
  // It keeps growing while the run goes on: one row per snapshot the engine sends.
  ASSERT_TRUE(wait_until([&] { return view->snapshots() >= at_click + 5; }));
  controller->stop();
  ASSERT_TRUE(wait_until([&] { return !run_state_active(controller->state()); }));
  QApplication::processEvents();
  EXPECT_EQ(view->plot()->cells_y(), static_cast<int>(view->snapshots()));
  // Clicked again once stopped, the view shows a sequence of the newest snapshot: the one shown
  // so far may have finished more than the view's 512 snapshots ago on a loaded machine.
  view->open(1, 0);
  // streaming-llm with sinks = 2: wherever the sequence is in the context, positions 0 and 1
  // are kept and marked protected; and its newest position (protected_recent = 4) too.
  const HeadTimeline& t = view->drawn();
  int rows_with_data = 0;
  for (size_t row = 0; row < t.steps.size(); ++row) {
    if (std::isnan(t.at(row, 0))) continue;
    ++rows_with_data;
    EXPECT_EQ(t.at(row, 0), HeadTimeline::kProtected) << "row " << row;
    EXPECT_EQ(t.at(row, 1), HeadTimeline::kProtected) << "row " << row;
    int64_t newest = t.positions - 1;
    while (newest >= 0 && std::isnan(t.at(row, newest))) --newest;
    EXPECT_EQ(t.at(row, newest), HeadTimeline::kProtected) << "row " << row;
  }
  EXPECT_GT(rows_with_data, 0);
  const QString hover = view->plot()->hover_text(0, 0);
  EXPECT_TRUE(hover.contains("layer 1, KV head 0, position 0")) << hover.toStdString();
  if (const char* out = std::getenv("KVWB_SCREENSHOT_DIR")) {
    window.live_side_tabs()->grab().save(QString(out) + "/live-eviction-map.png");  // no fixture path
  }
}

TEST(MainWindow, PlotsFollowTheWindowPalette) {
  ui_test::app();
  ui_test::TempDir dir;
  MainWindow window(window_config(dir));
  window.show();
  QPalette dark = window.palette();
  dark.setColor(QPalette::Base, QColor(20, 20, 24));
  dark.setColor(QPalette::Text, QColor(230, 230, 230));
  dark.setColor(QPalette::Window, QColor(40, 40, 44));
  window.setPalette(dark);
  QApplication::processEvents();
  window.plots()->refresh_now();
  QCustomPlot* plot = window.plots()->plot(TimePlots::Throughput);
  EXPECT_EQ(plot->axisRect()->backgroundBrush().color(), QColor(20, 20, 24));
  EXPECT_EQ(plot->xAxis->tickLabelColor(), QColor(230, 230, 230));
  // The series colours are lightened for a dark background.
  EXPECT_GT(plot->graph(0)->pen().color().lightnessF(), 0.5);
}

TEST(MainWindow, AModelThatCannotLoadIsShownInTheWindow) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig c = window_config(dir);
  c.model = dir.file("missing-model");
  MainWindow window(c);
  window.start_run();
  ASSERT_TRUE(wait_until([&] { return window.controller()->state() == RunState::Failed; }));
  EXPECT_TRUE(window.message().contains("missing-model")) << window.message().toStdString();
  EXPECT_TRUE(window.status_text().contains("failed")) << window.status_text().toStdString();
}

TEST(MainWindow, ARequestChosenForTracingJoinsTheDefaultTracedOnesInTheNextRunsConfig) {
  ui_test::app();
  ui_test::TempDir dir;
  MainWindow window(window_config(dir));
  EXPECT_TRUE(window.current_config().trace_sequences.empty());  // the engine's default: the first two
  window.trace_request(QStringLiteral("r5"));
  window.trace_request(QStringLiteral("r5"));  // once only
  EXPECT_EQ(window.current_config().trace_sequences, (std::vector<std::string>{"r0", "r1", "r5"}));
}

}  // namespace
}  // namespace kvwb
