// The live plots without the engine: an hour of steps stays bounded on screen (its frame time is
// measured by bench/gui/replot_bench.cpp, not here), the time axis follows the newest data until
// the user takes it, and config marks are drawn on every plot.
#include "ui/widgets/time_plots.h"

#include <gtest/gtest.h>

#include <cmath>

#include <qcustomplot.h>

#include "tests/ui/ui_test_util.h"

namespace kvwb {
namespace {

// `seconds` of steps at `rate` steps per second, as controller snapshots would bring them.
void feed(RunSeries& series, double seconds, double rate, double start = 0) {
  RunSnapshot s;
  const auto steps = static_cast<int64_t>(seconds * rate);
  for (int64_t i = 0; i < steps; ++i) {
    StepPoint p;
    p.t = start + static_cast<double>(i) / rate;
    p.step = i;
    p.generated_per_second = 500 + 100 * std::sin(p.t / 60);
    p.total_per_second = 2000 + 300 * std::cos(p.t / 45);
    p.running = 16 + i % 7;
    p.waiting = 100 - i % 100;
    p.blocks_used = 3000 + i % 500;
    p.blocks_total = 12800;
    p.kv_bytes_used = p.blocks_used * 4096;
    s.points.push_back(p);
    if (s.points.size() == 1000) {
      series.add(s);
      s.points.clear();
    }
  }
  series.add(s);
}

TEST(TimePlots, AnHourOfStepsStaysBoundedOnScreen) {
  ui_test::app();
  RunSeries series;
  feed(series, 3600, 30);  // 108,000 steps
  for (int i = 0; i < 500; ++i) series.add_accuracy(i * 7.2, 0.5, 0.9);
  TimePlots plots;
  plots.resize(1000, 800);
  plots.show();
  plots.set_window_seconds(0);  // the whole hour on screen
  plots.set_series(&series);
  for (int id = 0; id < TimePlots::PlotCount; ++id) {
    for (int g = 0; g < plots.plot(TimePlots::PlotId(id))->graphCount(); ++g) {
      EXPECT_LE(plots.graph_points(TimePlots::PlotId(id), g), 4096 + 1024 + 1);
    }
  }
  EXPECT_GT(plots.graph_points(TimePlots::Batch, 0), 1000);
  // The axis covers the hour.
  EXPECT_LE(plots.plot(TimePlots::Batch)->xAxis->range().lower, 1.0);
  EXPECT_GE(plots.plot(TimePlots::Batch)->xAxis->range().upper, 3599.0);

  // The graphs still span the hour: the first history bin holds the first 32 steps (~0.5 s).
  EXPECT_LE(plots.plot(TimePlots::Throughput)->graph(0)->data()->constBegin()->key, 2.0);
  EXPECT_GE((plots.plot(TimePlots::Throughput)->graph(0)->data()->constEnd() - 1)->key, 3599.0);
}

TEST(TimePlots, TheTimeAxisFollowsUntilTheUserTakesIt) {
  ui_test::app();
  RunSeries series;
  TimePlots plots;
  plots.set_window_seconds(30);
  plots.set_series(&series);
  feed(series, 100, 10);
  plots.refresh_now();
  QCPRange r = plots.plot(TimePlots::Throughput)->xAxis->range();
  EXPECT_NEAR(r.lower, 99.9 - 30, 1e-6);
  EXPECT_GE(r.upper, 99.9);
  // Every plot shows the same time span.
  for (int id = 1; id < TimePlots::PlotCount; ++id) EXPECT_EQ(plots.plot(TimePlots::PlotId(id))->xAxis->range(), r);

  // The user pans one plot: all follow it, and new data no longer moves the axis.
  plots.set_following(false);
  plots.plot(TimePlots::Batch)->xAxis->setRange(10, 20);
  for (int id = 0; id < TimePlots::PlotCount; ++id) {
    EXPECT_EQ(plots.plot(TimePlots::PlotId(id))->xAxis->range(), QCPRange(10, 20));
  }
  feed(series, 10, 10, 100);
  plots.refresh_now();
  EXPECT_EQ(plots.plot(TimePlots::Throughput)->xAxis->range(), QCPRange(10, 20));
  plots.set_following(true);
  EXPECT_GE(plots.plot(TimePlots::Throughput)->xAxis->range().upper, 109.9);
}

TEST(TimePlots, ConfigMarksAreDrawnOnEveryPlot) {
  ui_test::app();
  RunSeries series;
  TimePlots plots;
  plots.set_series(&series);
  RunSnapshot s;
  s.points.push_back(StepPoint{1.0, 0});
  s.marks.push_back(ConfigMark{0.5, 0, "budget_tokens 512 -> 256"});
  s.marks.push_back(ConfigMark{0.8, 3, "policy h2o -> snapkv"});
  series.add(s);
  plots.refresh_now();
  EXPECT_EQ(plots.mark_count(), 2);
  for (int id = 0; id < TimePlots::PlotCount; ++id) {
    int lines = 0;
    QCustomPlot* p = plots.plot(TimePlots::PlotId(id));
    for (int i = 0; i < p->itemCount(); ++i) lines += qobject_cast<QCPItemStraightLine*>(p->item(i)) != nullptr;
    EXPECT_EQ(lines, 2) << id;
  }
  series.clear();
  plots.refresh_now();
  EXPECT_EQ(plots.mark_count(), 0);
  EXPECT_EQ(plots.plot(TimePlots::Throughput)->itemCount(), 0);
}

}  // namespace
}  // namespace kvwb
