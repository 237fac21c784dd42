// The Sweep tab on the fixture model: the runner reports every point and the analysis it
// ends with equals what the library computes for the same sessions; the plot and the table
// fill; a click opens the point's session as a comparison with the reference; Stop ends after
// the running point and a second start reads the recorded points back; a bad grid is shown.
#include "ui/widgets/sweep_panel.h"

#include <gtest/gtest.h>

#include <QTableWidget>

#include "run/sweep/sweep.h"
#include "sessions/session_store.h"
#include "tests/ui/ui_test_util.h"
#include "ui/controller/sweep_runner.h"
#include "ui/widgets/frontier_plot.h"

namespace kvwb {
namespace {

struct Fixture {
  QApplication& app = ui_test::app();  // before any widget member
  ui_test::TempDir dir;
  RunConfig base;
  std::shared_ptr<ModelCache> models = std::make_shared<ModelCache>();
  SweepRunner runner{models};
  SweepPanel panel{&runner, [this] { return base; }};
  int finished = 0, points_reported = 0;

  Fixture() {
    base = ui_test::fixture_config(ui_test::write_workload(dir, 4, 24, 6));
    base.kv_pool_bytes = int64_t{1} << 20;
    base.policy.sinks = 2;
    base.policy.protected_recent = 4;
    base.policy.window = 4;
    panel.set_db_path(QString::fromStdString(dir.file("sweep.db")));
    panel.set_grid("batch-max,streaming-llm", "8,64", "");
    panel.set_min_accuracy(0.5);
    QObject::connect(&runner, &SweepRunner::finished, [this](const SweepAnalysisPtr&) { ++finished; });
    QObject::connect(&runner, &SweepRunner::pointFinished, [this](const SweepAnalysisPtr&) { ++points_reported; });
  }
  int sessions() { return static_cast<int>(SessionStore::open(dir.file("sweep.db")).list().size()); }
};

TEST(SweepPanel, RunsTheSweepFillsPlotAndTableAndOpensASession) {
  Fixture f;
  f.panel.start();
  ASSERT_TRUE(ui_test::wait_until([&] { return f.finished == 1; })) << f.panel.status().toStdString();
  const SweepAnalysis& a = f.panel.analysis();
  ASSERT_TRUE(a.complete) << f.panel.status().toStdString();
  ASSERT_EQ(a.rows.size(), 5u);
  EXPECT_EQ(f.points_reported, 5);
  EXPECT_EQ(f.sessions(), 5);
  EXPECT_EQ(f.panel.table()->rowCount(), 5);
  EXPECT_EQ(f.panel.frontier()->points_drawn(), 5);

  // The library's analysis of the same recorded sessions (all read back) agrees.
  SweepOptions options;
  options.db_path = f.dir.file("sweep.db");
  options.min_accuracy = 0.5;
  const SweepAnalysis again = Sweep(f.base, {{"batch-max", "streaming-llm"}, {8, 64}, {}}, options).run();
  ASSERT_EQ(again.rows.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(again.rows[i].measured.reused);
    EXPECT_EQ(again.rows[i].measured.session_id, a.rows[i].measured.session_id);
    EXPECT_EQ(again.rows[i].frontier, a.rows[i].frontier);
    EXPECT_DOUBLE_EQ(again.rows[i].accuracy, a.rows[i].accuracy);
  }
  EXPECT_EQ(again.recommended, a.recommended);
  int frontier = 0;
  for (const SweepRow& r : a.rows) frontier += r.frontier ? 1 : 0;
  EXPECT_EQ(f.panel.frontier()->frontier_points(), frontier);
  if (a.recommended) {
    EXPECT_NE(f.panel.status().indexOf("Recommended: "), -1);
  }

  qint64 opened = 0;
  QObject::connect(&f.panel, &SweepPanel::sessionOpened, [&](const QString&, qint64 id) { opened = id; });
  f.panel.open_row(2);  // batch-max, budget 64: compared with the reference session
  EXPECT_EQ(opened, a.rows[2].measured.session_id);
  const std::string text = f.panel.session_text().toStdString();
  EXPECT_NE(text.find("Session #" + std::to_string(opened)), std::string::npos) << text;
  EXPECT_NE(text.find("policy.name"), std::string::npos) << text;
  EXPECT_NE(text.find("batch-max"), std::string::npos) << text;
}

TEST(SweepPanel, StopEndsAfterThePointRunningAndTheNextStartResumes) {
  Fixture f;
  // Nine points: the stop is queued to this thread, so the worker may finish a few more points
  // before it lands on a busy machine; eight points of slack keep the sweep from completing.
  f.panel.set_grid("batch-max,streaming-llm", "8,16,32,64", "");
  bool stopped = false;
  QObject::connect(&f.runner, &SweepRunner::pointFinished, [&](const SweepAnalysisPtr& a) {
    if (a->rows.size() == 1 && !stopped) {
      stopped = true;
      f.runner.stop();  // what the Stop button does, once
    }
  });
  f.panel.start();
  ASSERT_TRUE(ui_test::wait_until([&] { return f.finished == 1; })) << f.panel.status().toStdString();
  EXPECT_FALSE(f.panel.analysis().complete);
  const int recorded = f.sessions();
  EXPECT_GE(recorded, 1);
  EXPECT_LT(recorded, 9);
  EXPECT_NE(f.panel.status().indexOf("Stopped"), -1);

  f.panel.start();
  ASSERT_TRUE(ui_test::wait_until([&] { return f.finished == 2; })) << f.panel.status().toStdString();
  const SweepAnalysis& a = f.panel.analysis();
  ASSERT_TRUE(a.complete);
  int reused = 0;
  for (const SweepRow& r : a.rows) reused += r.measured.reused ? 1 : 0;
  EXPECT_EQ(reused, recorded);
  EXPECT_EQ(f.sessions(), 9);
}

TEST(SweepPanel, ABadGridIsShownAndNothingStarts) {
  Fixture f;
  f.panel.set_grid("batch-max,fast-kv", "64", "");
  f.panel.start();
  EXPECT_NE(f.panel.status().indexOf("unknown policy 'fast-kv'"), -1) << f.panel.status().toStdString();
  f.panel.set_grid("batch-max", "64,x", "");
  f.panel.start();
  EXPECT_NE(f.panel.status().indexOf("budgets: 'x' is not a whole number"), -1) << f.panel.status().toStdString();
  EXPECT_FALSE(f.runner.busy());
}

}  // namespace
}  // namespace kvwb
