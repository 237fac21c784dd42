// A recorded session read back for the panels: the background loader's pages, progress and
// cancel; the replayed time series; the retention map and a head's eviction timeline checked
// against the engine's own retention data (StepStats::retention as the engine returned it).
#include "ui/models/session_replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "tests/ui/session_test_util.h"
#include "ui/controller/session_loader.h"

namespace kvwb {
namespace {

const StepStats& engine_step(const ui_test::RecordedRun& run, int64_t step) {
  const auto it = std::find_if(run.steps.begin(), run.steps.end(), [&](const StepStats& s) { return s.step == step; });
  EXPECT_NE(it, run.steps.end()) << "no engine step " << step;
  return *it;
}

TEST(SessionReplay, RetentionMapAndEvictionTimelineEqualTheEnginesRetention) {
  ui_test::TempDir dir;
  const std::string db = dir.file("s.db");
  const ui_test::RecordedRun run = ui_test::record_run(ui_test::evicting_config(dir), db);
  ASSERT_GT(run.summary.evicted_slots, 0) << "the budget should force evictions";

  std::atomic<bool> cancel{false};
  std::vector<std::pair<int64_t, int64_t>> reports;
  const LoadedSessionPtr loaded =
      load_session_paged(db, run.session_id, cancel, [&](int64_t d, int64_t t) { reports.emplace_back(d, t); }, 3);
  ASSERT_NE(loaded, nullptr);
  const Session& s = loaded->session;
  const SessionReplay& r = loaded->replay;
  ASSERT_EQ(s.steps.size(), run.steps.size());  // read in pages of 3: none lost, none twice
  for (size_t i = 0; i < s.steps.size(); ++i) EXPECT_EQ(s.steps[i].step, run.steps[i].step);
  ASSERT_GT(reports.size(), run.steps.size() / 3);  // one report per page
  for (size_t i = 1; i < reports.size(); ++i) EXPECT_GE(reports[i].first, reports[i - 1].first);
  EXPECT_EQ(reports.back().first, reports.back().second);
  EXPECT_EQ(r.series.running.raw_count(), run.steps.size());
  EXPECT_DOUBLE_EQ(r.series.last_time(), run.steps.back().start_seconds + run.steps.back().wall_seconds);
  EXPECT_EQ(r.layers, 2);  // the fixture model
  EXPECT_EQ(r.request_ids, (std::vector<std::string>{"r0", "r1"}));

  // Every snapshot: the batch mean per (layer, head) is the mean of the engine's lengths.
  ASSERT_FALSE(s.retention.empty());
  int checked_cells = 0;
  for (size_t i = 0; i < s.retention.size(); ++i) {
    const StepStats& e = engine_step(run, s.retention[i].step);
    std::map<std::pair<int, int>, std::vector<int>> lengths;
    for (const HeadRetention& h : e.retention) lengths[{h.layer, h.head}].push_back(h.length);
    const std::optional<RetentionSummary> sum = replay_retention(s, r, i);
    ASSERT_TRUE(sum.has_value());
    for (const auto& [cell, values] : lengths) {
      double mean = 0;
      for (int v : values) mean += v;
      mean /= static_cast<double>(values.size());
      EXPECT_DOUBLE_EQ(sum->mean_retained[static_cast<size_t>(cell.first * r.kv_heads + cell.second)], mean);
      ++checked_cells;
    }
  }
  EXPECT_GT(checked_cells, 0);

  // One sequence, one head, through every snapshot: kept exactly where the engine retained.
  const int layer = 1, head = r.kv_heads - 1;
  const HeadTimeline t = head_timeline(s, "r0", layer, head, s.retention.size() - 1);
  ASSERT_EQ(t.steps.size(), s.retention.size());
  int kept_rows = 0, evicted_cells = 0;
  for (size_t row = 0; row < t.steps.size(); ++row) {
    const StepStats& e = engine_step(run, t.steps[row]);
    const HeadRetention* h = nullptr;
    int32_t context = 0;
    for (const HeadRetention& x : e.retention) {
      if (x.request_id != "r0") continue;
      if (!x.positions.empty()) context = std::max(context, x.positions.back() + 1);
      if (x.layer == layer && x.head == head) h = &x;
    }
    if (h == nullptr) {  // r0 not running at this step
      for (int64_t p = 0; p < t.positions; ++p) EXPECT_TRUE(std::isnan(t.at(row, p)));
      continue;
    }
    ++kept_rows;
    const std::set<int32_t> kept(h->positions.begin(), h->positions.end());
    for (int64_t p = 0; p < t.positions; ++p) {
      const double v = t.at(row, p);
      if (p >= context) EXPECT_TRUE(std::isnan(v)) << "row " << row << " position " << p;
      else if (kept.count(static_cast<int32_t>(p))) EXPECT_EQ(v, HeadTimeline::kKept) << "row " << row << " position " << p;
      else {
        EXPECT_EQ(v, HeadTimeline::kEvicted) << "row " << row << " position " << p;
        ++evicted_cells;
      }
    }
    // The fraction of r0's context this head keeps at this snapshot.
    const std::vector<double> f = retention_fraction(s, r, row, "r0");
    EXPECT_DOUBLE_EQ(f[static_cast<size_t>(layer * r.kv_heads + head)], static_cast<double>(h->length) / context);
  }
  EXPECT_GT(kept_rows, 0);
  EXPECT_GT(evicted_cells, 0) << "the budget should have evicted some of r0's positions";
}

TEST(SessionReplay, ConfigChangesBecomeMarksAtTheStepTheyAppliedFrom) {
  RunConfig a;
  a.policy.name = "h2o";
  a.policy.budget_tokens = 512;
  RunConfig b = a;
  b.policy.budget_tokens = 256;
  std::vector<StepStats> steps(4);
  for (int i = 0; i < 4; ++i) {
    steps[static_cast<size_t>(i)].step = i;
    steps[static_cast<size_t>(i)].start_seconds = 0.5 * i;
  }
  const std::vector<ConfigMark> marks = config_marks(run_config_to_json(a), {{2, run_config_to_json(b)}}, steps);
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].step, 2);
  EXPECT_DOUBLE_EQ(marks[0].t, 1.0);
  EXPECT_EQ(marks[0].text, "budget_tokens 512 -> 256");
}

TEST(SessionLoader, ACancelledLoadStopsAtTheNextPage) {
  ui_test::TempDir dir;
  const std::string db = dir.file("s.db");
  const ui_test::RecordedRun run = ui_test::record_run(ui_test::evicting_config(dir), db);
  std::atomic<bool> cancel{false};
  int reports = 0;
  const LoadedSessionPtr loaded = load_session_paged(db, run.session_id, cancel, [&](int64_t, int64_t) {
    if (++reports == 2) cancel = true;
  }, 2);
  EXPECT_EQ(loaded, nullptr);
  EXPECT_EQ(reports, 2);
  // A session that is not there is an error naming the file.
  try {
    std::atomic<bool> no{false};
    load_session_paged(db, 999, no, {});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(db), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvwb
