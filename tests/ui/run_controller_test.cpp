// The controller with the real engine on the llama-tied fixture model: snapshots arrive and add
// up to the run, a budget change applies at the next step, a stop runs no further step, a refused
// update leaves the run going, the reference run is a full-KV run, and load errors are reported.
#include "ui/controller/run_controller.h"

#include <gtest/gtest.h>

#include <thread>

#include "run/run.h"
#include "tests/ui/ui_test_util.h"

namespace kvwb {
namespace {

using ui_test::wait_until;

// Everything a controller emits, in order.
struct Recorder {
  std::vector<RunSnapshot> snapshots, reference;
  std::vector<std::pair<RunState, int64_t>> states, reference_states;
  QStringList failures, rejections;

  explicit Recorder(RunController& c) {
    QObject::connect(&c, &RunController::snapshot, [this](const RunSnapshot& s) { snapshots.push_back(s); });
    QObject::connect(&c, &RunController::referenceSnapshot, [this](const RunSnapshot& s) { reference.push_back(s); });
    QObject::connect(&c, &RunController::stateChanged, [this](RunState s, qint64 n) { states.emplace_back(s, n); });
    QObject::connect(&c, &RunController::referenceStateChanged,
                     [this](RunState s, qint64 n) { reference_states.emplace_back(s, n); });
    QObject::connect(&c, &RunController::failed, [this](const QString& m) { failures << m; });
    QObject::connect(&c, &RunController::configRejected, [this](const QString& m) { rejections << m; });
  }
  bool reached(RunState s) const {
    return std::any_of(states.begin(), states.end(), [&](const auto& e) { return e.first == s; });
  }
  bool reference_reached(RunState s) const {
    return std::any_of(reference_states.begin(), reference_states.end(), [&](const auto& e) { return e.first == s; });
  }
  std::vector<StepPoint> points() const {
    std::vector<StepPoint> all;
    for (const RunSnapshot& s : snapshots) all.insert(all.end(), s.points.begin(), s.points.end());
    return all;
  }
  std::map<std::string, RequestResult> results(bool of_reference = false) const {
    std::map<std::string, RequestResult> all;
    for (const RunSnapshot& s : of_reference ? reference : snapshots) {
      for (const RequestResult& r : s.finished) all[r.id] = r;
    }
    return all;
  }
  std::vector<ConfigMark> marks() const {
    std::vector<ConfigMark> all;
    for (const RunSnapshot& s : snapshots) all.insert(all.end(), s.marks.begin(), s.marks.end());
    return all;
  }
};

std::map<std::string, std::vector<int32_t>> direct_outputs(const RunConfig& config) {
  kvwb::Run run(config);
  run.run_to_completion();
  std::map<std::string, std::vector<int32_t>> out;
  for (const RequestResult& r : run.results()) out[r.id] = r.output_tokens;
  return out;
}

// A workload long enough that the GUI side can act while it runs: one sequence at a time.
RunConfig long_config(const ui_test::TempDir& dir) {
  RunConfig c = ui_test::fixture_config(ui_test::write_workload(dir, 64, 40, 96));
  c.max_batch = 1;
  return c;
}

TEST(RunController, SnapshotsAddUpToTheRunAndMatchADirectRun) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig config = ui_test::fixture_config(ui_test::write_workload(dir, 6, 20, 16));
  config.max_batch = 4;
  RunController controller;
  Recorder rec(controller);
  controller.start(config);
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Finished); })) << rec.failures.join("; ").toStdString();
  ASSERT_TRUE(rec.failures.isEmpty()) << rec.failures.join("; ").toStdString();

  EXPECT_EQ(rec.states.front().first, RunState::Loading);
  EXPECT_EQ(rec.states[1].first, RunState::Running);
  EXPECT_EQ(rec.states.back().first, RunState::Finished);
  EXPECT_EQ(controller.state(), RunState::Finished);

  // Every step exactly once, in order, and the memory invariant on each.
  const std::vector<StepPoint> points = rec.points();
  ASSERT_FALSE(points.empty());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].step, static_cast<int64_t>(i));
    EXPECT_LE(points[i].blocks_used, points[i].blocks_total);
    if (i > 0) {
      EXPECT_GE(points[i].t, points[i - 1].t);
    }
  }
  const RunSnapshot& last = rec.snapshots.back();
  EXPECT_EQ(last.summary.steps, static_cast<int64_t>(points.size()));
  EXPECT_EQ(rec.states.back().second, static_cast<int64_t>(points.size()));
  const std::map<std::string, int64_t> totals{{"even", 3}, {"odd", 3}};
  EXPECT_EQ(rec.snapshots.front().task_totals, totals);

  // Coalesced: never more reports than steps, and about 30 per second of engine time at most
  // (the worker reports when 1/30 s has passed since its last report, and once at the end).
  EXPECT_LE(rec.snapshots.size(), points.size() + 1);
  const double seconds = rec.snapshots.back().elapsed_seconds - rec.snapshots.front().elapsed_seconds;
  EXPECT_LE(static_cast<double>(rec.snapshots.size()), 30.0 * seconds + 6) << seconds;

  // The same tokens as the engine gives without the controller.
  const auto expected = direct_outputs(config);
  const auto got = rec.results();
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [id, tokens] : expected) EXPECT_EQ(got.at(id).output_tokens, tokens) << id;
}

TEST(RunController, ABudgetChangeAppliesAtTheNextStep) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig config = long_config(dir);
  RunController controller;
  Recorder rec(controller);
  controller.start(config);
  ASSERT_TRUE(wait_until([&] { return !rec.points().empty(); }));
  controller.pause();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Paused); }));
  const int64_t paused_after = rec.states.back().second;  // steps done: the next step's index
  ASSERT_GT(paused_after, 0);
  ASSERT_EQ(rec.points().back().step, paused_after - 1);  // the pause flushed every step

  RunConfig budget = config;
  budget.policy.name = "streaming-llm";
  budget.policy.budget_tokens = 16;
  budget.policy.sinks = 2;
  budget.policy.protected_recent = 4;
  controller.update_config(budget);
  controller.resume();
  ASSERT_TRUE(wait_until([&] { return !rec.points().empty() && rec.points().back().step >= paused_after + 200; }));
  controller.stop();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Stopped) || rec.reached(RunState::Finished); }));

  const std::vector<ConfigMark> marks = rec.marks();
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].step, paused_after);
  EXPECT_NE(marks[0].text.find("policy full -> streaming-llm"), std::string::npos) << marks[0].text;
  EXPECT_NE(marks[0].text.find("budget_tokens - -> 16"), std::string::npos) << marks[0].text;
  int64_t evicted_before = 0, evicted_after = 0;
  for (const StepPoint& p : rec.points()) {
    if (p.step < paused_after) evicted_before += p.evicted_slots;
    else evicted_after += p.evicted_slots;
    if (p.step == paused_after) {
      EXPECT_GE(p.t, marks[0].t);
    }
  }
  EXPECT_EQ(evicted_before, 0);
  EXPECT_GT(evicted_after, 0);
  EXPECT_EQ(rec.snapshots.back().config.policy.name, "streaming-llm");
  EXPECT_TRUE(rec.rejections.isEmpty()) << rec.rejections.join("; ").toStdString();
}

// Stop is checked between every two engine steps, so it takes effect after at most the step in
// flight. Asserted by step counts, not by time: a stop from the worker's own report (between two
// steps) runs no further step; a stop while paused runs none; a stop from the GUI thread ends the
// run long before its workload is done.
TEST(RunLoop, AStopBetweenTwoStepsRunsNoFurtherStep) {
  ui_test::TempDir dir;
  std::shared_ptr<RunLoop> loop;
  int64_t steps_at_stop = -1, steps_reported = -1;
  RunState last_state = RunState::Idle;
  RunLoopEvents events;
  events.snapshot = [&](RunSnapshot s) {
    if (steps_at_stop < 0 && !s.points.empty() && s.points.back().step >= 5) {
      steps_at_stop = s.points.back().step + 1;
      loop->stop();
    }
  };
  events.state = [&](RunState state, int64_t steps) {
    last_state = state;
    steps_reported = steps;
  };
  // A snapshot after every step, so the stop comes right after step 5.
  loop = std::make_shared<RunLoop>(long_config(dir), std::make_shared<ModelCache>(), RunLoopOptions{1e9, 0.5, 1.0});
  std::thread worker([&] { loop->run(events); });
  worker.join();
  EXPECT_EQ(steps_at_stop, 6);
  EXPECT_EQ(last_state, RunState::Stopped);
  EXPECT_EQ(steps_reported, steps_at_stop);
}

TEST(RunController, AStopWhilePausedRunsNoFurtherStep) {
  ui_test::app();
  ui_test::TempDir dir;
  RunController controller;
  Recorder rec(controller);
  controller.start(long_config(dir));
  ASSERT_TRUE(wait_until([&] { return !rec.points().empty(); }));
  controller.pause();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Paused); }));
  const int64_t paused_after = rec.states.back().second;
  controller.stop();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Stopped); }));
  EXPECT_EQ(rec.states.back().second, paused_after);
  EXPECT_EQ(rec.points().back().step, paused_after - 1);
}

TEST(RunController, AStopEndsTheRunBeforeItsWorkload) {
  ui_test::app();
  ui_test::TempDir dir;
  RunController controller;
  Recorder rec(controller);
  controller.start(long_config(dir));  // 64 requests one at a time: thousands of steps
  ASSERT_TRUE(wait_until([&] { return !rec.points().empty(); }));
  controller.stop();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Stopped); }));
  EXPECT_FALSE(rec.reached(RunState::Finished));
  // Every step that ran was reported, and the run ended short of its 64 x 96 decode steps.
  EXPECT_EQ(rec.states.back().second, rec.points().back().step + 1);
  EXPECT_LT(rec.snapshots.back().summary.steps, 64 * 96);
  EXPECT_LT(rec.results().size(), 64u);
}

TEST(RunController, ARefusedUpdateLeavesTheRunGoing) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig config = ui_test::fixture_config(ui_test::write_workload(dir, 4, 20, 24));
  RunController controller;
  Recorder rec(controller);
  controller.start(config);
  controller.pause();  // holds the run before its first step, so the update cannot come too late
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Paused); }));
  RunConfig bad = config;
  bad.policy.name = "h2o";  // a compressing policy with no budget
  controller.update_config(bad);
  controller.resume();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Finished); }));
  ASSERT_EQ(rec.rejections.size(), 1);
  EXPECT_TRUE(rec.rejections.front().contains("budget")) << rec.rejections.front().toStdString();
  EXPECT_TRUE(rec.marks().empty());
  EXPECT_EQ(rec.snapshots.back().config.policy.name, "full");
  EXPECT_EQ(rec.results().size(), 4u);
}

TEST(RunController, TheReferenceRunIsTheSameWorkloadWithFullKv) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig config = ui_test::fixture_config(ui_test::write_workload(dir, 4, 24, 12));
  config.policy.name = "streaming-llm";
  config.policy.budget_tokens = 16;
  config.policy.sinks = 2;
  config.policy.protected_recent = 4;
  RunController controller;
  Recorder rec(controller);
  controller.start(config);
  controller.start_reference();
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Finished) && rec.reference_reached(RunState::Finished); }));
  EXPECT_EQ(controller.reference_state(), RunState::Finished);
  EXPECT_EQ(rec.reference.back().config.policy.name, "full");
  EXPECT_EQ(rec.reference.back().config.workload, config.workload);

  RunConfig full = config;
  full.policy = PolicyConfig{};
  const auto expected = direct_outputs(full);
  const auto got = rec.results(/*of_reference=*/true);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [id, tokens] : expected) EXPECT_EQ(got.at(id).output_tokens, tokens) << id;
  int64_t evicted = 0;
  for (const StepPoint& p : rec.points()) evicted += p.evicted_slots;
  EXPECT_GT(evicted, 0);  // the main run did compress
}

TEST(RunController, AModelThatCannotLoadIsReported) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig config = ui_test::fixture_config(ui_test::write_workload(dir, 1, 4, 4));
  config.model = dir.file("no-such-model");
  RunController controller;
  Recorder rec(controller);
  controller.start(config);
  ASSERT_TRUE(wait_until([&] { return rec.reached(RunState::Failed); }));
  ASSERT_EQ(rec.failures.size(), 1);
  EXPECT_TRUE(rec.failures.front().contains("no-such-model")) << rec.failures.front().toStdString();
  EXPECT_EQ(controller.state(), RunState::Failed);
}

}  // namespace
}  // namespace kvwb
