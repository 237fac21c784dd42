// The token view: the kept share of every token against a hand-made eviction trace, the item
// model under QAbstractItemModelTester, the shading and click of the drawn widget, and the
// traces of a real run (live through the RunLoop's snapshots, recorded through a session)
// against the engine's own retained positions at every step.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include <QImage>
#include <QTest>
#include <qcustomplot.h>

#include "tests/ui/session_test_util.h"
#include "tests/ui/ui_test_util.h"
#include "ui/controller/run_loop.h"
#include "ui/controller/session_loader.h"
#include "ui/models/token_retention.h"
#include "ui/models/token_view_model.h"
#include "ui/widgets/heatmap_plot.h"
#include "ui/widgets/token_text_area.h"
#include "ui/widgets/token_view.h"

namespace kvwb {
namespace {

using ui_test::TempDir;

// 2 layers x 2 KV heads, 6 positions. Position 1 goes from three rows at step 3; position 2
// from row 0 at step 5; row 3 (layer 1, head 1) evicts nothing and is absent from the map.
TokenTrace hand_trace() {
  TokenTrace t;
  t.request_id = "r";
  t.task = "niah";
  t.tokens.request_id = "r";
  t.tokens.prompt_tokens = 5;
  t.tokens.ids = {10, 11, 12, 13, 14, 15};
  t.tokens.pieces = {"The", " code", " is", " 42", ".\n", "42"};
  t.expected = {"42"};
  t.answer = "42";
  t.score = 1.0;
  t.finished = true;
  t.layers = 2;
  t.kv_heads = 2;
  t.map.request_id = "r";
  t.map.step = 7;
  t.map.context_length = 6;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  t.map.heads = {{0, 0, {-1, 3, 5, -1, -1, -1}, std::vector<float>(6, nan)},
                 {0, 1, {-1, 3, -1, -1, -1, -1}, std::vector<float>(6, nan)},
                 {1, 0, {-1, 3, -1, -1, -1, -1}, std::vector<float>(6, nan)}};
  return t;
}

TEST(TokenRetention, SharesOfAHandMadeTrace) {
  const TokenTrace t = hand_trace();
  const TokenRetention r(t.map, t.layers, t.kv_heads);
  EXPECT_EQ(r.rows(), 4);
  EXPECT_EQ(r.eviction_steps(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(r.kept_share(1, 2), 1.0);   // before step 3 ran
  EXPECT_EQ(r.kept_share(1, 3), 0.25);  // one row of four keeps it
  EXPECT_EQ(r.kept_share(2, 4), 1.0);
  EXPECT_EQ(r.kept_share(2, 5), 0.75);
  EXPECT_EQ(r.kept_share(2, 5, 0), 0.0);  // row 0 only
  EXPECT_EQ(r.kept_share(2, 5, 1), 1.0);
  EXPECT_EQ(r.kept_share(1, 3, 3), 1.0);  // the absent row kept everything
  EXPECT_EQ(r.kept_shares(8, 7), (std::vector<double>{1, 0.25, 0.75, 1, 1, 1, 1, 1}));
  const std::string d = r.detail(1, 3);
  EXPECT_NE(d.find("kept in 1 of 4 heads after step 3"), std::string::npos) << d;
  EXPECT_NE(d.find("layer 0: evicted at step 3, evicted at step 3"), std::string::npos) << d;
  EXPECT_NE(d.find("layer 1: evicted at step 3, kept"), std::string::npos) << d;
}

TEST(TokenViewModel, RolesFollowTheStepAndHeadUnderTheModelTester) {
  TokenViewModel model;
  ui_test::ModelChecker checker(&model);
  TokenTrace t = hand_trace();
  t.tokens.pieces.resize(5);
  t.tokens.ids.resize(5);
  model.set_trace(t);  // the prompt only, as a live run first sends it
  ASSERT_EQ(model.rowCount(), 5);
  EXPECT_EQ(model.step(), 7);  // the map's last step
  EXPECT_EQ(model.index(3).data().toString(), QStringLiteral(" 42"));
  EXPECT_EQ(model.index(1).data(TokenViewModel::kKeptShareRole).toDouble(), 0.25);
  EXPECT_TRUE(model.index(4).data(TokenViewModel::kIsPromptRole).toBool());
  model.set_step(4);
  EXPECT_EQ(model.index(2).data(TokenViewModel::kKeptShareRole).toDouble(), 1.0);
  model.set_row(0);
  EXPECT_EQ(model.index(1).data(TokenViewModel::kKeptShareRole).toDouble(), 0.0);
  EXPECT_EQ(model.index(1).data(TokenViewModel::kEvictedAtRole).toInt(), 3);
  EXPECT_TRUE(model.index(1).data(Qt::ToolTipRole).toString().contains(QStringLiteral("kept in 1 of 4 heads after step 4")));
  model.set_trace(hand_trace());  // the same request, finished: the answer's token is appended
  ASSERT_EQ(model.rowCount(), 6);
  EXPECT_FALSE(model.index(5).data(TokenViewModel::kIsPromptRole).toBool());
  EXPECT_EQ(model.step(), 4);  // kept where the user put it
  EXPECT_EQ(model.row(), 0);
  TokenTrace other = hand_trace();
  other.request_id = "s";
  model.set_trace(other);  // another request: back to every head at the last step
  EXPECT_EQ(model.row(), 0);
  EXPECT_EQ(model.step(), 7);
  model.clear();
  EXPECT_EQ(model.rowCount(), 0);
  EXPECT_TRUE(checker.failures().isEmpty()) << checker.failures().join('\n').toStdString();
}

TEST(TokenView, ShadesEachTokenByItsKeptShareAndClickCentresTheMap) {
  ui_test::app();
  TokenView view;
  view.resize(900, 600);
  view.set_traces({hand_trace()});
  view.show();
  QApplication::processEvents();
  TokenTextArea* text = view.text();
  EXPECT_TRUE(view.answer_text().contains(QStringLiteral("score 1.00")));
  EXPECT_TRUE(view.answer_text().contains(QStringLiteral("<b>Expected</b>: 42")));
  const QImage image = text->grab().toImage();
  // The top row of a token's box is its background (the text sits in the middle of the line).
  auto background = [&](int64_t position) {
    const QRect r = text->token_rect(position);
    return QColor(image.pixel(r.left() + 1, r.top()));
  };
  const QColor base = text->palette().color(QPalette::Base);
  EXPECT_EQ(background(0), base);  // every head keeps it
  EXPECT_EQ(background(1), text->shade(0.25));
  EXPECT_EQ(background(2), text->shade(0.75));
  EXPECT_NE(text->shade(0.25), text->shade(0.75));
  // Shading for one head: row 0 evicted positions 1 and 2.
  view.set_row(0);
  const QImage one_head = text->grab().toImage();
  const QRect r2 = text->token_rect(2);
  EXPECT_EQ(QColor(one_head.pixel(r2.left() + 1, r2.top())), text->shade(0.0));
  // The newline token ends its line; the answer starts on a line of its own.
  EXPECT_GT(text->token_rect(5).top(), text->token_rect(4).top());
  // The map below: every head at the step, evicted / kept.
  EXPECT_EQ(view.map()->cells_x(), 6);
  EXPECT_EQ(view.map()->cells_y(), 4);
  EXPECT_EQ(view.map()->value(1, 0), HeadTimeline::kEvicted);
  EXPECT_EQ(view.map()->value(1, 3), HeadTimeline::kKept);
  EXPECT_EQ(view.map()->legend_text(), QStringLiteral("evicted · kept"));
  QTest::mouseClick(text, Qt::LeftButton, {}, text->token_rect(3).center());
  EXPECT_DOUBLE_EQ(view.map()->plot()->xAxis->range().center(), 3.0);
}

// Positions a traced request keeps by its eviction trace after each step equal what the engine
// retained at that step, for every (layer, KV head) the retention snapshot has.
void expect_trace_matches_engine(const TokenTrace& trace, const std::vector<StepStats>& steps) {
  const TokenRetention r(trace.map, trace.layers, trace.kv_heads);
  int compared = 0;
  for (const StepStats& s : steps) {
    for (const HeadRetention& h : s.retention) {
      if (h.request_id != trace.request_id || h.positions.empty()) continue;
      const std::set<int32_t> kept(h.positions.begin(), h.positions.end());
      const int row = h.layer * trace.kv_heads + h.head;
      for (int32_t p = 0; p <= h.positions.back(); ++p) {
        ASSERT_EQ(r.kept(row, p, s.step), kept.count(p) == 1)
            << trace.request_id << " step " << s.step << " layer " << h.layer << " head " << h.head << " position " << p;
      }
      ++compared;
    }
  }
  EXPECT_GT(compared, 0);
  EXPECT_FALSE(r.eviction_steps().empty());  // the budget made it evict
}

TEST(TokenTraces, LiveTracesFromTheRunLoopMatchTheEngine) {
  TempDir dir;
  RunConfig config = ui_test::evicting_config(dir, "batch-max", 16);
  config.trace_sequences = {"r1", "not-in-the-workload"};  // the second traces nothing
  LiveTokenTraces traces;
  std::vector<StepStats> steps;  // an independent run of the same config, for the expectation
  std::vector<RequestResult> results;
  RunLoopEvents events;
  events.snapshot = [&](RunSnapshot s) {
    traces.add(s);
    for (RequestResult& r : s.finished) results.push_back(std::move(r));
  };
  RunLoop loop(config, std::make_shared<ModelCache>());
  loop.run(events);
  kvwb::Run again(config);
  while (!again.done()) {
    again.engine().request_retention_snapshot();
    steps.push_back(again.step().stats);
  }
  const std::vector<TokenTrace> got = traces.traces();
  ASSERT_EQ(got.size(), 1u);
  const TokenTrace& t = got[0];
  EXPECT_EQ(t.request_id, "r1");
  EXPECT_EQ(t.task, "odd");
  EXPECT_TRUE(t.finished);
  EXPECT_EQ(t.layers, 2);
  const RequestResult* r1 = nullptr;
  for (const RequestResult& r : results) r1 = r.id == "r1" ? &r : r1;
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(t.answer, r1->output_text);
  EXPECT_EQ(t.expected, r1->answers);
  std::vector<int32_t> ids = r1->prompt_ids;
  ids.insert(ids.end(), r1->output_tokens.begin(), r1->output_tokens.end());
  EXPECT_EQ(t.tokens.ids, ids);
  EXPECT_EQ(t.tokens.pieces.size(), ids.size());
  EXPECT_EQ(t.tokens.prompt_tokens, r1->prompt_tokens);
  expect_trace_matches_engine(t, steps);
}

TEST(TokenTraces, RecordedSessionTracesMatchTheEngineAndShowInThePanel) {
  ui_test::app();  // the panel below is a widget: run alone (ctest), nothing made the app yet
  TempDir dir;
  const RunConfig config = ui_test::evicting_config(dir, "batch-max", 16);
  const std::string db = dir.file("s.db");
  const ui_test::RecordedRun rec = ui_test::record_run(config, db);
  std::atomic<bool> cancel{false};
  const LoadedSessionPtr loaded = load_session_paged(db, rec.session_id, cancel, {});
  const std::vector<TokenTrace> traces =
      session_token_traces(loaded->session, loaded->replay.layers, loaded->replay.kv_heads);
  ASSERT_EQ(traces.size(), 2u);  // the default: the first two requests
  for (const TokenTrace& t : traces) {
    SCOPED_TRACE(t.request_id);
    EXPECT_TRUE(t.finished);
    EXPECT_FALSE(t.tokens.ids.empty());
    EXPECT_EQ(t.expected.size(), 1u);  // read back from the workload file
    expect_trace_matches_engine(t, rec.steps);
  }
  TokenView view;
  view.set_traces(traces);
  view.select_request(QStringLiteral("r1"));
  EXPECT_EQ(view.request(), QStringLiteral("r1"));
  EXPECT_EQ(view.model()->rowCount(), static_cast<int>(traces[1].tokens.ids.size()));
}

}  // namespace
}  // namespace kvwb
