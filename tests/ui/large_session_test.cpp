// An hour-long session (200k steps, 3125 retention snapshots, 300k profiler spans; written
// straight into the store by tests/ui/large_session_util.h) opens through the real panel:
// loaded in the background with progress while the GUI thread keeps processing events (a
// timer fires during the load), cancellable, and drawn decimated: the time plots hold at most
// two points per pixel column yet keep every one-step spike, and the op timeline's bars cover
// every span with at most one bar per pixel column.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <QTimer>
#include <qcustomplot.h>

#include "sessions/session_trace.h"
#include "tests/ui/large_session_util.h"
#include "tests/ui/ui_test_util.h"
#include "ui/controller/session_loader.h"
#include "ui/widgets/op_timeline.h"
#include "ui/widgets/session_panel.h"
#include "ui/widgets/time_plots.h"

namespace kvwb {
namespace {

using ui_test::wait_until;

struct LargeSession {
  ui_test::TempDir dir;
  std::string db;
  int64_t id = 0;
  large_session::Options options;
};

LargeSession& large() {
  ui_test::app();  // before any widget
  static LargeSession* s = [] {
    auto* out = new LargeSession;
    out->db = out->dir.file("hour.db");
    out->id = large_session::write(out->db, out->options);
    return out;
  }();
  return *s;
}

bool open_panel(SessionPanel& panel, const LargeSession& s) {
  panel.resize(1200, 800);
  panel.show();
  panel.set_db_path(QString::fromStdString(s.db));
  return panel.open_db();
}

TEST(LargeSession, OpensInTheBackgroundWithProgressWhileTheWindowKeepsProcessingEvents) {
  LargeSession& s = large();
  SessionPanel panel;
  ASSERT_TRUE(open_panel(panel, s));
  auto* loader = panel.findChild<SessionLoader*>();
  ASSERT_NE(loader, nullptr);

  // Cancel: the first progress report cancels; the worker stops at its next page and nothing
  // is shown.
  bool cancelled = false;
  QMetaObject::Connection on_first = QObject::connect(loader, &SessionLoader::progress, &panel, [&] { panel.cancel_load(); });
  QObject::connect(loader, &SessionLoader::cancelled, &panel, [&] { cancelled = true; });
  panel.reopen(s.id);
  ASSERT_TRUE(wait_until([&] { return cancelled && !loader->busy(); }));
  QObject::disconnect(on_first);
  EXPECT_EQ(panel.shown(), nullptr);

  // The real load: the GUI thread's timer keeps firing while the worker reads, and progress
  // arrives in many steps up to its total.
  std::vector<qint64> progress;
  qint64 total = 0;
  QObject::connect(loader, &SessionLoader::progress, &panel, [&](qint64 done, qint64 of) {
    progress.push_back(done);
    total = of;
  });
  int ticks_during_load = 0;
  QTimer timer;
  timer.setInterval(1);
  QObject::connect(&timer, &QTimer::timeout, [&] {
    if (loader->busy() && !panel.shown()) ++ticks_during_load;
  });
  timer.start();
  panel.reopen(s.id);
  ASSERT_TRUE(wait_until([&] { return panel.shown() != nullptr; }, 300000)) << panel.status().toStdString();
  timer.stop();
  EXPECT_GT(ticks_during_load, 0) << "the GUI thread processed no events during the load";
  ASSERT_GT(progress.size(), 10u);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(progress.back(), total);
  EXPECT_EQ(static_cast<int64_t>(panel.shown()->session.steps.size()), s.options.steps);
  EXPECT_EQ(static_cast<int64_t>(panel.shown()->session.retention.size()),
            (s.options.steps + s.options.retention_every - 1) / s.options.retention_every);
}

TEST(LargeSession, PlotsAndTheOpTimelineAreDecimatedWithoutLosingSpikes) {
  LargeSession& s = large();
  SessionPanel panel;
  ASSERT_TRUE(open_panel(panel, s));
  panel.reopen(s.id);
  ASSERT_TRUE(wait_until([&] { return panel.shown() != nullptr; }, 300000)) << panel.status().toStdString();
  QApplication::processEvents();
  TimePlots* plots = panel.plots();
  plots->refresh_now();

  // Batch plot, graph 0: running sequences. The undecimated data: every step's end time and value.
  const int buckets = plots->decimation_buckets(TimePlots::Batch);
  QCPGraph* running = plots->plot(TimePlots::Batch)->graph(0);
  const int drawn = running->data()->size();
  EXPECT_LE(drawn, 2 * buckets + 2) << "buckets " << buckets;
  EXPECT_GT(drawn, buckets / 2);  // decimated, not emptied
  std::vector<std::pair<double, double>> points;
  for (auto it = running->data()->constBegin(); it != running->data()->constEnd(); ++it) points.emplace_back(it->key, it->value);
  double raw_min = 1e300, raw_max = -1e300;
  int spikes = 0;
  for (int64_t i = 0; i < s.options.steps; ++i) {
    const StepStats st = large_session::step_at(s.options, i);
    raw_min = std::min(raw_min, static_cast<double>(st.running));
    raw_max = std::max(raw_max, static_cast<double>(st.running));
    if (st.running != large_session::kSpikeRunning) continue;
    // A one-step spike is drawn at its own time with its own height.
    const double t = st.start_seconds + st.wall_seconds;
    EXPECT_TRUE(std::any_of(points.begin(), points.end(), [&](const auto& p) {
      return p.first == t && p.second == static_cast<double>(large_session::kSpikeRunning);
    })) << "spike at step " << i << " lost";
    ++spikes;
  }
  EXPECT_GE(spikes, 9);
  const auto [lo, hi] = std::minmax_element(points.begin(), points.end(),
                                            [](const auto& a, const auto& b) { return a.second < b.second; });
  EXPECT_EQ(lo->second, raw_min);
  EXPECT_EQ(hi->second, raw_max);

  // Op timeline: per row, at most one bar per pixel column (+2), every span inside a bar.
  OpTimeline* timeline = panel.timeline();
  const Trace trace = session_trace(panel.shown()->session.events);
  ASSERT_EQ(trace.spans.size(), static_cast<size_t>(s.options.steps + s.options.steps / 2));
  ASSERT_EQ(timeline->rows(), 2);
  const int columns = timeline->decimation_buckets();
  for (int row = 0; row < timeline->rows(); ++row) {
    const std::vector<std::pair<double, double>> bars = timeline->drawn_bars(row);
    EXPECT_LE(static_cast<int>(bars.size()), columns + 2) << "row " << row;
    EXPECT_GT(bars.size(), 0u);
    const bool is_step = timeline->row_label(row).endsWith("step");
    size_t checked = 0;
    for (const Span& sp : trace.spans) {
      if ((sp.category == Category::step) != is_step) continue;
      const double a = static_cast<double>(sp.start_ns - trace.origin_ns) / 1e6;
      const double b = static_cast<double>(sp.end_ns - trace.origin_ns) / 1e6;
      auto it = std::upper_bound(bars.begin(), bars.end(), a, [](double x, const auto& bar) { return x < bar.first; });
      ASSERT_NE(it, bars.begin()) << "span at " << a << " ms before every bar";
      --it;
      ASSERT_TRUE(a >= it->first && b <= it->second) << "span [" << a << ", " << b << "] not drawn";
      ++checked;
    }
    EXPECT_GT(checked, 0u);
  }
  // Zoomed in to one step, the bars are the spans themselves again.
  const Span& first = trace.spans.front();
  timeline->set_time_range(0, static_cast<double>(first.end_ns - trace.origin_ns) / 1e6 * 1.5);
  int step_row = timeline->row_label(0).endsWith("step") ? 0 : 1;
  const auto zoomed = timeline->drawn_bars(step_row);
  ASSERT_GE(zoomed.size(), 1u);
  EXPECT_DOUBLE_EQ(zoomed[0].second, static_cast<double>(first.end_ns - trace.origin_ns) / 1e6);
}

}  // namespace
}  // namespace kvwb
