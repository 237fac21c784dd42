// The session browser through the real window, offscreen: a recorded database is listed with
// its metrics, a session reopens into the plots and maps (the retention map scrubs, a clicked
// head opens its eviction map), two sessions compare side by side with the CLI's comparison,
// rename/annotate/delete reach the store, every export writes what the store holds, and the
// window grabs to a PNG with the overlaid plots drawn.
#include "ui/widgets/session_panel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <QImage>
#include <QPixmap>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>
#include <qcustomplot.h>

#include "engine/config/run_config.h"
#include "sessions/config_export.h"
#include "sessions/session_compare.h"
#include "sessions/session_store.h"
#include "sessions/session_trace.h"
#include "profiler/op_summary.h"
#include "tests/ui/session_test_util.h"
#include "ui/main_window.h"
#include "ui/models/comparison_model.h"
#include "ui/models/session_list_model.h"
#include "ui/models/steps_csv.h"
#include "ui/models/token_text.h"
#include "ui/widgets/heatmap_plot.h"
#include "ui/widgets/op_timeline.h"
#include "ui/widgets/time_plots.h"

namespace kvwb {
namespace {

using ui_test::wait_until;

struct Recorded {
  ui_test::TempDir dir;
  std::string db = dir.file("sessions.db");
  ui_test::RecordedRun compressed, full;
  Recorded() {
    compressed = ui_test::record_run(ui_test::evicting_config(dir), db, /*profile=*/true);
    full = ui_test::record_run(ui_test::evicting_config(dir, "full"), db);
  }
};

Recorded& recorded() {  // recorded once for every test of this file
  ui_test::app();
  static Recorded r;
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool wait_shown(SessionPanel& panel, qint64 id) {
  return wait_until([&] { return panel.shown() && panel.shown()->session.info.id == id; });
}

TEST(SessionListModel, ListsEverySessionWithItsSummaryMetrics) {
  Recorded& rec = recorded();
  SessionListModel model;
  ui_test::ModelChecker checker(&model);
  SessionStore store = SessionStore::open(rec.db, sqlite::OpenMode::read_write);
  model.load(store);
  EXPECT_TRUE(checker.failures().isEmpty()) << checker.failures().join("\n").toStdString();
  ASSERT_EQ(model.rowCount(), 2);
  const int row = model.row_of(rec.compressed.session_id);
  ASSERT_GE(row, 0);
  const SessionListModel::Row& r = model.rows()[static_cast<size_t>(row)];
  EXPECT_DOUBLE_EQ(*r.generated_per_second, rec.compressed.summary.generated_tokens_per_second);
  EXPECT_EQ(*r.peak_blocks, static_cast<double>(rec.compressed.summary.peak_blocks_used));
  EXPECT_EQ(model.index(row, SessionListModel::Policy).data().toString(), "kv-compress");
  EXPECT_EQ(model.index(row, SessionListModel::Budget).data().toString(), "24 tok");
  EXPECT_EQ(model.index(row, SessionListModel::Steps).data().toLongLong(), static_cast<qlonglong>(rec.compressed.steps.size()));
  EXPECT_EQ(model.index(model.row_of(rec.full.session_id), SessionListModel::Budget).data().toString(), "-");
}

TEST(SessionPanel, ReopensASessionIntoThePlotsAndMapsAndScrubs) {
  Recorded& rec = recorded();
  SessionPanel panel;
  panel.resize(1200, 800);
  panel.show();
  panel.set_db_path(QString::fromStdString(rec.db));
  ASSERT_TRUE(panel.open_db()) << panel.status().toStdString();
  panel.reopen(rec.compressed.session_id);
  ASSERT_TRUE(wait_shown(panel, rec.compressed.session_id)) << panel.status().toStdString();
  panel.plots()->refresh_now();
  const size_t steps = rec.compressed.steps.size();
  EXPECT_EQ(panel.plots()->graph_points(TimePlots::Batch, 0), static_cast<int>(steps));  // short: one point per step
  EXPECT_EQ(panel.plots()->graph_points(TimePlots::Throughput, 2 * 4), 0);  // no overlay graphs without a comparison

  // The retention map at the last snapshot, then scrubbed to the first: the engine's lengths.
  HeatmapPlot* map = panel.retention_plot();
  EXPECT_EQ(map->cells_y(), 2);
  const Session& s = panel.shown()->session;
  for (size_t index : {s.retention.size() - 1, size_t{0}}) {
    panel.scrub(static_cast<int>(index));
    const StepStats* e = nullptr;
    for (const StepStats& x : rec.compressed.steps) {
      if (x.step == s.retention[index].step) e = &x;
    }
    ASSERT_NE(e, nullptr);
    std::map<std::pair<int, int>, std::pair<double, int>> sums;
    for (const HeadRetention& h : e->retention) {
      sums[{h.layer, h.head}].first += h.length;
      sums[{h.layer, h.head}].second += 1;
    }
    for (const auto& [cell, sum] : sums) {
      EXPECT_DOUBLE_EQ(map->value(cell.second, cell.first), sum.first / sum.second) << "snapshot " << index;
    }
  }
  // Hover names the cell and its value.
  const QString hover = map->hover_text(1, 0);
  EXPECT_TRUE(hover.contains("layer 0")) << hover.toStdString();
  EXPECT_TRUE(hover.contains(QString::number(map->value(1, 0), 'g', 4))) << hover.toStdString();

  // Clicking a cell (layer 1, head 0) opens that head's eviction map: one row per snapshot so far.
  panel.scrub(static_cast<int>(s.retention.size() - 1));
  QCustomPlot* plot = map->plot();
  plot->replot();
  const QPoint centre(plot->xAxis->coordToPixel(0), plot->yAxis->coordToPixel(1));
  QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, centre);
  HeatmapPlot* eviction = panel.eviction_plot();
  ASSERT_EQ(eviction->cells_y(), static_cast<int>(s.retention.size()));
  EXPECT_GT(eviction->cells_x(), 0);
  EXPECT_TRUE(eviction->plot()->xAxis->label().contains("sequence r0, layer 1, KV head 0"))
      << eviction->plot()->xAxis->label().toStdString();
  const HeadTimeline t = head_timeline(s, "r0", 1, 0, s.retention.size() - 1, &panel.shown()->replay.protection);
  for (int row = 0; row < eviction->cells_y(); ++row) {
    for (int p = 0; p < eviction->cells_x(); ++p) {
      const double a = eviction->value(p, row), b = t.at(static_cast<size_t>(row), p);
      EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || a == b) << "row " << row << " position " << p;
    }
  }
  // Hovering an evicted position of the traced request names the step that evicted it and the
  // score that decided it, from the session's eviction map.
  const EvictionMap* traced = nullptr;
  for (const EvictionMap& m : s.eviction_maps) {
    if (m.request_id == "r0") traced = &m;
  }
  ASSERT_NE(traced, nullptr);
  int hovered = 0;
  for (const HeadEvictions& h : traced->heads) {
    if (h.layer != 1 || h.head != 0) continue;
    for (size_t p = 0; p < h.evicted_at_step.size() && static_cast<int64_t>(p) < t.positions; ++p) {
      const size_t last = t.steps.size() - 1;
      if (h.evicted_at_step[p] < 0 || t.at(last, static_cast<int64_t>(p)) != HeadTimeline::kEvicted) continue;
      const QString text = eviction->hover_text(static_cast<int>(p), static_cast<int>(last));
      EXPECT_TRUE(text.contains(QStringLiteral("evicted at step %1, score").arg(h.evicted_at_step[p]))) << text.toStdString();
      // And the token's text, as the session stored it (escaped for control bytes).
      const RequestTokens& tokens = *std::find_if(s.tokens.begin(), s.tokens.end(),
                                                  [](const RequestTokens& x) { return x.request_id == "r0"; });
      EXPECT_TRUE(text.contains(QStringLiteral("position %1 \"%2\"").arg(p).arg(QString::fromStdString(escaped_token_text(tokens.pieces[p])))))
          << text.toStdString();
      ++hovered;
    }
  }
  EXPECT_GT(hovered, 0);
  if (const char* out = std::getenv("KVWB_SCREENSHOT_DIR")) {
    QApplication::processEvents();
    panel.views()->grab().save(QString(out) + "/sessions-run.png");  // no paths in the picture
  }
  // Scrubbing back shows fewer rows.
  panel.scrub(0);
  EXPECT_EQ(eviction->cells_y(), 1);

  // Every head of r0 at one step: kept exactly where the engine retained at that step.
  const size_t mid = s.retention.size() / 2;
  panel.scrub(static_cast<int>(mid));
  panel.set_all_heads(true);
  const int kv_heads = panel.shown()->replay.kv_heads;
  ASSERT_EQ(eviction->cells_y(), 2 * kv_heads);
  const StepStats* e = nullptr;
  for (const StepStats& x : rec.compressed.steps) {
    if (x.step == s.retention[mid].step) e = &x;
  }
  ASSERT_NE(e, nullptr);
  int compared_rows = 0;
  int32_t context = 0;  // r0's newest position + 1
  for (const HeadRetention& h : e->retention) {
    if (h.request_id == "r0" && !h.positions.empty()) context = std::max(context, h.positions.back() + 1);
  }
  // kv-compress under evicting_config: the first 2 (sinks) and the newest 8 (protected_recent)
  // are protected; it has no window protection.
  auto protected_by_hand = [&](int p) { return p < 2 || p >= context - 8; };
  for (const HeadRetention& h : e->retention) {
    if (h.request_id != "r0") continue;
    const std::set<int32_t> kept(h.positions.begin(), h.positions.end());
    const int row = h.layer * kv_heads + h.head;
    for (int p = 0; p < eviction->cells_x(); ++p) {
      EXPECT_EQ(eviction->value(p, row), kept.count(p) ? (protected_by_hand(p) ? HeadTimeline::kProtected : HeadTimeline::kKept)
                                                       : HeadTimeline::kEvicted)
          << "layer " << h.layer << " head " << h.head << " position " << p;
    }
    ++compared_rows;
  }
  EXPECT_EQ(compared_rows, 2 * kv_heads);
}

TEST(SessionPanel, RenamesAnnotatesAndDeletesInTheStore) {
  Recorded& rec = recorded();
  const std::string db = rec.dir.file("edit.db");
  const ui_test::RecordedRun run = ui_test::record_run(ui_test::evicting_config(rec.dir), db);
  SessionPanel panel;
  panel.set_db_path(QString::fromStdString(db));
  ASSERT_TRUE(panel.open_db());
  ASSERT_TRUE(panel.rename(run.session_id, "budget 24"));
  ASSERT_TRUE(panel.annotate(run.session_id, "evicts per head"));
  const int row = panel.sessions()->row_of(run.session_id);
  EXPECT_EQ(panel.sessions()->index(row, SessionListModel::Name).data().toString(), "budget 24");
  EXPECT_EQ(panel.sessions()->index(row, SessionListModel::Description).data().toString(), "evicts per head");
  {
    SessionStore store = SessionStore::open(db, sqlite::OpenMode::read_write);
    EXPECT_EQ(store.info(run.session_id).name, "budget 24");
    EXPECT_EQ(store.info(run.session_id).description, "evicts per head");
  }
  ASSERT_TRUE(panel.remove(run.session_id));
  EXPECT_EQ(panel.sessions()->rowCount(), 0);
  SessionStore store = SessionStore::open(db, sqlite::OpenMode::read_write);
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(panel.rename(run.session_id, "gone"));  // an error in the status line, not a crash
  EXPECT_TRUE(panel.status().contains("#" + QString::number(run.session_id))) << panel.status().toStdString();
  // A file that is not there is reported, naming it.
  panel.set_db_path(QString::fromStdString(rec.dir.file("missing.db")));
  EXPECT_FALSE(panel.open_db());
  EXPECT_TRUE(panel.status().contains("missing.db")) << panel.status().toStdString();
}

TEST(SessionPanel, ExportsWhatTheStoreHolds) {
  Recorded& rec = recorded();
  SessionPanel panel;
  panel.set_db_path(QString::fromStdString(rec.db));
  ASSERT_TRUE(panel.open_db());
  EXPECT_FALSE(panel.export_csv(QString::fromStdString(rec.dir.file("none.csv"))));  // nothing shown yet
  panel.reopen(rec.compressed.session_id);
  ASSERT_TRUE(wait_shown(panel, rec.compressed.session_id));
  const Session& s = panel.shown()->session;

  const std::string standalone = rec.dir.file("one.db");
  ASSERT_TRUE(panel.export_session(QString::fromStdString(standalone))) << panel.status().toStdString();
  {
    SessionStore out = SessionStore::open(standalone, sqlite::OpenMode::read_write);
    ASSERT_EQ(out.list().size(), 1u);
    EXPECT_EQ(out.list()[0].uid, s.info.uid);
    EXPECT_EQ(out.steps(out.list()[0].id).size(), s.steps.size());
  }

  const std::string config = rec.dir.file("tuned.json");
  ASSERT_TRUE(panel.export_config(QString::fromStdString(config))) << panel.status().toStdString();
  const RunConfig expected = tuned_config(s.info.config, s.config_changes, std::nullopt, "test");
  EXPECT_EQ(run_config_to_json(load_run_config(config)), run_config_to_json(expected));
  EXPECT_EQ(panel.flags().toStdString(), vllm_kvcompress_flags(expected).line());

  const std::string csv = rec.dir.file("steps.csv");
  ASSERT_TRUE(panel.export_csv(QString::fromStdString(csv)));
  std::istringstream lines(read_text(csv));
  std::string header, first;
  std::getline(lines, header);
  EXPECT_EQ(header, kStepsCsvHeader);
  int rows = 1;
  std::getline(lines, first);
  for (std::string l; std::getline(lines, l);) ++rows;
  EXPECT_EQ(rows, static_cast<int>(s.steps.size()));
  const StepStats& s0 = rec.compressed.steps[0];
  EXPECT_EQ(first.rfind(std::to_string(s0.step) + ",", 0), 0u) << first;
  EXPECT_NE(first.find("," + std::to_string(s0.blocks_used) + "," + std::to_string(s0.blocks_total) + ","), std::string::npos)
      << first;

  const std::string trace = rec.dir.file("trace.json");
  ASSERT_TRUE(panel.export_trace(QString::fromStdString(trace))) << panel.status().toStdString();
  const nlohmann::json j = nlohmann::json::parse(read_text(trace));
  size_t complete = 0;
  for (const nlohmann::json& e : j.at("traceEvents")) complete += e.at("ph") == "X" ? 1 : 0;
  EXPECT_EQ(complete, s.events.spans.size());
  EXPECT_GT(complete, 0u);

  for (const char* name : {"plots.png", "plots.svg"}) {
    const std::string path = rec.dir.file(name);
    ASSERT_TRUE(panel.save_plots(QString::fromStdString(path))) << panel.status().toStdString();
    if (std::string(name).ends_with(".png")) EXPECT_FALSE(QImage(QString::fromStdString(path)).isNull());
    else EXPECT_NE(read_text(path).find("<svg"), std::string::npos);
  }
  EXPECT_FALSE(panel.save_plots(QString::fromStdString(rec.dir.file("plots.bmp"))));
  EXPECT_TRUE(panel.status().contains("plots.bmp")) << panel.status().toStdString();

  // The full-KV session recorded no profiler events: the trace export says so.
  panel.reopen(rec.full.session_id);
  ASSERT_TRUE(wait_shown(panel, rec.full.session_id));
  EXPECT_FALSE(panel.export_trace(QString::fromStdString(rec.dir.file("none.json"))));
  EXPECT_TRUE(panel.status().contains("no profiler events")) << panel.status().toStdString();
}

TEST(SessionPanel, ComparesTwoSessionsThroughTheRealWindow) {
  Recorded& rec = recorded();
  ui_test::TempDir dir;
  MainWindow window(ui_test::fixture_config(ui_test::write_workload(dir, 2, 10, 4)));
  window.resize(1400, 900);
  window.show();
  SessionPanel* panel = window.session_panel();
  window.tabs()->setCurrentWidget(panel);
  panel->set_db_path(QString::fromStdString(rec.db));
  ASSERT_TRUE(panel->open_db());
  ui_test::ModelChecker checker(panel->comparison());
  panel->select_sessions({rec.compressed.session_id, rec.full.session_id});
  ASSERT_EQ(panel->selected_sessions().size(), 2);
  panel->compare(rec.compressed.session_id, rec.full.session_id);
  ASSERT_TRUE(wait_until([&] { return panel->compared() != nullptr; })) << panel->status().toStdString();
  EXPECT_TRUE(checker.failures().isEmpty()) << checker.failures().join("\n").toStdString();

  // The table holds `kvwb-cli sessions compare`'s comparison of the two.
  SessionStore store = SessionStore::open(rec.db, sqlite::OpenMode::read_write);
  const SessionComparison c = compare_sessions(store.load(rec.compressed.session_id), store.load(rec.full.session_id));
  ComparisonModel* m = panel->comparison();
  ASSERT_EQ(m->rowCount(), static_cast<int>(c.metrics.size() + c.tasks.size() + c.config.size()));
  const double ratio = rec.full.summary.generated_tokens_per_second / rec.compressed.summary.generated_tokens_per_second;
  EXPECT_NEAR(m->index(0, ComparisonModel::Ratio).data(ComparisonModel::kRawRatioRole).toDouble(), ratio, 1e-9);
  EXPECT_EQ(m->index(0, ComparisonModel::Item).data().toString(), "throughput (generated)");
  bool policy_row = false;
  for (int row = 0; row < m->rowCount(); ++row) {
    if (m->index(row, ComparisonModel::Item).data().toString() == "policy.name") {
      policy_row = true;
      EXPECT_EQ(m->index(row, ComparisonModel::A).data().toString(), "\"kv-compress\"");
      EXPECT_EQ(m->index(row, ComparisonModel::B).data().toString(), "\"full\"");
    }
  }
  EXPECT_TRUE(policy_row);

  // Both runs on one time axis: the overlay's graphs follow the main series' graphs.
  TimePlots* plots = panel->plots();
  plots->refresh_now();
  const int graphs = plots->plot(TimePlots::Batch)->graphCount() / 2;
  EXPECT_EQ(plots->graph_points(TimePlots::Batch, 0), static_cast<int>(rec.compressed.steps.size()));
  EXPECT_EQ(plots->graph_points(TimePlots::Batch, graphs), static_cast<int>(rec.full.steps.size()));

  // The grabbed window shows the comparison table; the overlay's line is in the Recorded-run view.
  panel->views()->setCurrentIndex(0);
  QApplication::processEvents();
  for (int id = 0; id < TimePlots::PlotCount; ++id) plots->plot(static_cast<TimePlots::PlotId>(id))->replot();
  const QImage image = window.grab().toImage();
  QCustomPlot* batch = plots->plot(TimePlots::Batch);
  const QColor pen = batch->graph(graphs)->pen().color();
  const QRect area = batch->axisRect()->rect().translated(batch->mapTo(&window, QPoint(0, 0)));
  int hits = 0;
  for (int y = area.top(); y <= area.bottom(); ++y) {
    for (int x = area.left(); x <= area.right(); ++x) hits += image.pixelColor(x, y).rgb() == pen.rgb() ? 1 : 0;
  }
  EXPECT_GT(hits, 10) << "the overlay's running-sequences line is not in the grabbed window";
  if (const char* out = std::getenv("KVWB_SCREENSHOT_DIR")) {
    // The views only: the Run panel and the Database field would show this machine's paths.
    panel->views()->grab().save(QString(out) + "/sessions-compare-plots.png");
    panel->views()->setCurrentIndex(1);
    QApplication::processEvents();
    panel->views()->grab().save(QString(out) + "/sessions-compare-table.png");
  }
}

TEST(OpTimeline, DrawsEverySpanAndTabulatesTheProfilersSummary) {
  Recorded& rec = recorded();
  SessionPanel panel;
  panel.resize(1200, 800);
  panel.show();
  panel.set_db_path(QString::fromStdString(rec.db));
  ASSERT_TRUE(panel.open_db());
  panel.reopen(rec.compressed.session_id);
  ASSERT_TRUE(wait_shown(panel, rec.compressed.session_id));
  OpTimeline* t = panel.timeline();
  const Trace trace = session_trace(panel.shown()->session.events);
  ASSERT_FALSE(trace.spans.empty());
  EXPECT_EQ(t->drawn_spans(), static_cast<int>(trace.spans.size()));
  // One row per (track, category) the spans use.
  std::set<std::pair<Track, Category>> rows;
  for (const Span& s : trace.spans) rows.insert({s.track, s.category});
  EXPECT_EQ(t->rows(), static_cast<int>(rows.size()));

  // The table is the profiler's own summary, row for row.
  const OpSummary summary = summarize_ops(trace);
  QTableWidget* table = t->table();
  ASSERT_EQ(table->rowCount(), static_cast<int>(summary.rows.size()));
  std::map<std::string, const OpStats*> by_name;
  for (const OpStats& o : summary.rows) by_name[o.name + "/" + std::string(category_name(o.category))] = &o;
  for (int r = 0; r < table->rowCount(); ++r) {
    const std::string key = table->item(r, 0)->text().toStdString() + "/" + table->item(r, 1)->text().toStdString();
    ASSERT_TRUE(by_name.count(key)) << key;
    EXPECT_EQ(table->item(r, 2)->data(Qt::DisplayRole).toLongLong(), by_name[key]->count) << key;
    EXPECT_NEAR(table->item(r, 3)->data(Qt::DisplayRole).toDouble(), static_cast<double>(by_name[key]->total_ns) / 1e6, 1e-3);
  }

  // Hover finds the step span in the middle of the first step.
  const Span* step = nullptr;
  for (const Span& s : trace.spans) {
    if (s.category == Category::step && (step == nullptr || s.start_ns < step->start_ns)) step = &s;
  }
  ASSERT_NE(step, nullptr);
  int step_row = -1;
  for (int r = 0; r < t->rows(); ++r) {
    if (t->row_label(r).endsWith("step")) step_row = r;
  }
  ASSERT_GE(step_row, 0);
  const double mid = static_cast<double>((step->start_ns + step->end_ns) / 2 - trace.origin_ns) / 1e6;
  ASSERT_NE(t->span_at(mid, step_row), nullptr);
  EXPECT_EQ(t->span_at(mid, step_row)->start_ns, step->start_ns);
  const QString hover = t->hover_text(mid, step_row);
  EXPECT_TRUE(hover.startsWith(QString::fromStdString(step->name))) << hover.toStdString();
  EXPECT_TRUE(hover.contains(QStringLiteral("step %1").arg(step->step))) << hover.toStdString();

  // Zoomed to the first step, the in-view statistics count that step's spans only.
  t->set_time_range(static_cast<double>(step->start_ns - trace.origin_ns) / 1e6,
                    static_cast<double>(step->end_ns - trace.origin_ns) / 1e6);
  t->set_stats_in_view(true);
  int64_t in_step = 0;
  for (const Span& s : trace.spans) {
    if (s.category != Category::step && s.start_ns >= step->start_ns && s.end_ns <= step->end_ns) ++in_step;
  }
  int64_t counted = 0;
  for (int r = 0; r < table->rowCount(); ++r) counted += table->item(r, 2)->data(Qt::DisplayRole).toLongLong();
  EXPECT_EQ(counted, in_step);
  EXPECT_GT(counted, 0);
  if (const char* out = std::getenv("KVWB_SCREENSHOT_DIR")) {
    t->set_stats_in_view(false);
    t->set_time_range(0, static_cast<double>(step->end_ns - trace.origin_ns) / 1e6 * 3);
    panel.views()->setCurrentWidget(t);
    QApplication::processEvents();
    t->plot()->replot();
    panel.views()->grab().save(QString(out) + "/sessions-timeline.png");
  }
}

}  // namespace
}  // namespace kvwb
