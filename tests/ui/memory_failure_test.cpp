// A backend allocation that fails during a GUI run (injected through RunLoopOptions'
// decorate_backend with the FailingAllocBackend): the controller reports one failed event with
// the one-line error and the window shows it; the next Start runs to completion, and no run
// leaks or frees twice.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <vector>

#include "tests/runtime/failing_alloc_backend.h"
#include "tests/ui/ui_test_util.h"
#include "ui/controller/run_controller.h"
#include "ui/main_window.h"

namespace kvwb {
namespace {

using testing_support::FailingAllocBackend;
using ui_test::wait_until;

// Hands each run, in start order, a backend failing the allocation planned for it (0 = none)
// and keeps them for their books. Runs build their backends on the worker threads.
class FailurePlan {
 public:
  void plan(int64_t fail_at) {
    std::lock_guard lock(mutex_);
    plan_.push_back(fail_at);
  }
  BackendDecorator decorator() {
    return [this](kernels::Backend& inner) {
      std::lock_guard lock(mutex_);
      const size_t run = made_.size();
      made_.push_back(std::make_shared<FailingAllocBackend>(inner, run < plan_.size() ? plan_[run] : 0));
      return made_.back();
    };
  }
  // Only once the runs are gone (the controller destroyed): the workers write them.
  std::vector<std::shared_ptr<FailingAllocBackend>> made() {
    std::lock_guard lock(mutex_);
    return made_;
  }

 private:
  std::mutex mutex_;
  std::vector<int64_t> plan_;
  std::vector<std::shared_ptr<FailingAllocBackend>> made_;
};

void expect_clean_books(FailurePlan& plan, size_t runs) {
  const auto made = plan.made();
  ASSERT_EQ(made.size(), runs);
  for (size_t i = 0; i < made.size(); ++i) {
    EXPECT_TRUE(made[i]->live().empty()) << "run " << i << " leaked " << made[i]->live().size();
    EXPECT_EQ(made[i]->bad_frees(), 0) << "run " << i;
  }
}

TEST(MemoryFailure, AnAllocationFailingMidRunIsOneFailedEventAndTheNextStartFinishes) {
  ui_test::app();
  ui_test::TempDir dir;
  RunConfig config = ui_test::fixture_config(ui_test::write_workload(dir, 6, 24, 12));
  config.max_batch = 3;
  config.policy.name = "kv-compress";  // evicting once a prompt is in: the selector allocates mid-run
  config.policy.budget_tokens = 16;
  config.policy.protected_recent = 4;
  config.policy.sinks = 2;
  FailurePlan plan;
  {
    // One retention snapshot (at the first step): the runs allocate the same way every time.
    RunController controller(nullptr, RunLoopOptions{1e9, 1e9, 1.0, plan.decorator()});
    std::vector<RunState> states;
    QStringList failures;
    int64_t points = 0, finished = 0;
    QObject::connect(&controller, &RunController::stateChanged, [&](RunState s, qint64) { states.push_back(s); });
    QObject::connect(&controller, &RunController::failed, [&](const QString& m) { failures << m; });
    QObject::connect(&controller, &RunController::snapshot, [&](const RunSnapshot& s) {
      points += static_cast<int64_t>(s.points.size());
      finished += static_cast<int64_t>(s.finished.size());
    });
    auto run_once = [&](RunState until) {
      states.clear();
      points = finished = 0;
      controller.start(config);
      return wait_until([&] { return !states.empty() && states.back() == until; });
    };

    plan.plan(0);  // counted, to fail its last allocation next
    ASSERT_TRUE(run_once(RunState::Finished));
    const int64_t last = plan.made()[0]->allocs();  // the run is over: its worker wrote it last
    plan.plan(last);
    ASSERT_TRUE(run_once(RunState::Failed)) << "a run whose last allocation fails";
    ASSERT_EQ(failures.size(), 1);
    const std::string error = failures[0].toStdString();
    EXPECT_NE(error.find(": cannot allocate "), std::string::npos) << error;
    EXPECT_NE(error.find("bytes on the cpu backend (std::bad_alloc)"), std::string::npos) << error;
    EXPECT_FALSE(failures[0].contains('\n')) << error;
    EXPECT_GT(points, 0) << "the steps before the failure were reported";

    plan.plan(0);
    ASSERT_TRUE(run_once(RunState::Finished)) << "the controller is usable after a failure";
    EXPECT_EQ(finished, 6);
    EXPECT_EQ(failures.size(), 1);
  }
  expect_clean_books(plan, 3);
}

TEST(MemoryFailure, TheWindowShowsAKvPoolThatCannotBeAllocatedAndTheNextStartFinishes) {
  ui_test::app();
  ui_test::TempDir dir;
  FailurePlan plan;
  plan.plan(1);  // the engine allocates its KV pool first: the keys
  {
    MainWindow window(ui_test::fixture_config(ui_test::write_workload(dir, 4, 20, 8)), nullptr,
                      RunLoopOptions{30, 0.5, 1.0, plan.decorator()});
    window.show();
    window.start_run();
    RunController* controller = window.controller();
    ASSERT_TRUE(wait_until([&] { return controller->state() == RunState::Failed; }));
    QApplication::processEvents();
    EXPECT_TRUE(window.message().startsWith("KV pool (keys): cannot allocate ")) << window.message().toStdString();
    EXPECT_TRUE(window.message().endsWith(" bytes on the cpu backend (std::bad_alloc)")) << window.message().toStdString();
    EXPECT_TRUE(window.status_text().startsWith("failed")) << window.status_text().toStdString();

    window.start_run();  // the plan has nothing for the second run
    ASSERT_TRUE(wait_until([&] { return controller->state() == RunState::Finished; }));
    QApplication::processEvents();
    EXPECT_TRUE(window.message().startsWith("Run finished after ")) << "the error went with the new start: "
                                                                    << window.message().toStdString();
    EXPECT_TRUE(window.status_text().startsWith("finished")) << window.status_text().toStdString();
  }
  expect_clean_books(plan, 2);
}

}  // namespace
}  // namespace kvwb
