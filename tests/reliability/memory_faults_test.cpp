// A backend allocation that fails during a run, injected through Run's BackendDecorator hook with
// the FailingAllocBackend: the KV pool at the start, the engine's scratch in a later step. Run
// the way kvwb-cli runs it (run_to_completion), the run ends in one Error naming the buffer, with
// nothing leaked or freed twice; recorded, it leaves a session that opens and reads, marked
// interrupted, with every step and result recorded before the failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "run/run.h"
#include "run/session_recording.h"
#include "sessions/session_store.h"
#include "tests/runtime/failing_alloc_backend.h"
#include "tests/sessions/session_test_util.h"

namespace kvwb {
namespace {

using testing_support::FailingAllocBackend;
using testing_util::ScratchDir;

RunConfig small_config() {
  RunConfig c;
  c.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  c.kv_pool_bytes = int64_t{4} << 20;
  c.block_size = 8;
  c.prefill_chunk = 16;
  c.max_batch = 3;
  c.policy.name = "kv-compress";  // evicting: the slot selector's scratch is allocated mid-run
  c.policy.budget_tokens = 24;
  c.policy.protected_recent = 8;
  c.policy.window = 8;
  c.policy.sinks = 2;
  return c;
}

// Prompts of different lengths, so the batch (and the scratch it needs) grows after the start.
std::vector<Request> requests() {
  std::vector<Request> out;
  for (int i = 0; i < 5; ++i) {
    Request r;
    r.id = "r" + std::to_string(i);
    for (int w = 0; w < 6 + 9 * i; ++w) r.prompt += "word" + std::to_string(w * 7 + i) + " ";
    r.max_new_tokens = 10;
    out.push_back(std::move(r));
  }
  return out;
}

// The decorator that wraps the run's backend in a FailingAllocBackend failing its `fail_at`th
// allocation (0 = none); `out` keeps it for its books after the run is gone.
BackendDecorator failing_at(int64_t fail_at, std::shared_ptr<FailingAllocBackend>& out) {
  return [fail_at, &out](kernels::Backend& inner) {
    out = std::make_shared<FailingAllocBackend>(inner, fail_at);
    return out;
  };
}

// A run with no failure, counted: the allocations before the first step and after every step,
// each step's statistics and the requests finished by then.
struct AllocationProfile {
  std::vector<size_t> sizes;
  int64_t at_start = 0;
  std::vector<int64_t> after_step;
  std::vector<StepStats> steps;
  std::vector<std::set<std::string>> finished_by_step;

  // The first allocation made in a step after some request finished (so that the session holds
  // steps and results by then), and that step; {0, 0} when there is none.
  std::pair<int64_t, int64_t> first_allocation_after_a_result() const {
    for (size_t s = 1; s < after_step.size(); ++s) {
      if (!finished_by_step[s - 1].empty() && after_step[s] > after_step[s - 1]) {
        return {after_step[s - 1] + 1, static_cast<int64_t>(s)};
      }
    }
    return {0, 0};
  }
  // 1-based: the largest allocation made before the first step (the first of equals).
  int64_t largest_at_start() const {
    const auto begin = sizes.begin(), end = sizes.begin() + at_start;
    return (std::max_element(begin, end) - begin) + 1;
  }
};

AllocationProfile profile() {
  AllocationProfile p;
  std::shared_ptr<FailingAllocBackend> counting;
  Run run(small_config(), requests(), nullptr, failing_at(0, counting));
  p.at_start = counting->allocs();
  std::set<std::string> finished;
  while (!run.done()) {
    RunStep step = run.step();
    p.after_step.push_back(counting->allocs());
    p.steps.push_back(step.stats);
    for (const RequestResult& r : step.finished) finished.insert(r.id);
    p.finished_by_step.push_back(finished);
  }
  p.sizes = counting->sizes();
  return p;
}

void expect_one_line_error(const std::string& error, const std::string& starts_with) {
  EXPECT_EQ(error.rfind(starts_with, 0), 0u) << error;
  EXPECT_NE(error.find(": cannot allocate "), std::string::npos) << error;
  EXPECT_NE(error.find(" bytes on the cpu backend (std::bad_alloc)"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

void expect_clean_books(const FailingAllocBackend& backend) {
  EXPECT_TRUE(backend.live().empty()) << backend.live().size() << " allocations leaked";
  EXPECT_EQ(backend.bad_frees(), 0);
}

TEST(MemoryFaults, AKvPoolThatCannotBeAllocatedStopsTheRunWithOneErrorNamingIt) {
  const AllocationProfile p = profile();
  ASSERT_GT(p.at_start, 2);
  const int64_t pool = p.largest_at_start();
  std::shared_ptr<FailingAllocBackend> failing;
  std::string error;
  try {
    kvwb::Run run(small_config(), requests(), nullptr, failing_at(pool, failing));
    run.run_to_completion();
  } catch (const Error& e) {
    error = e.what();
  }
  // The keys are allocated first and are the largest buffer of a 4 MiB pool.
  expect_one_line_error(error, "KV pool (keys): cannot allocate " + std::to_string(p.sizes[pool - 1]) + " bytes");
  ASSERT_NE(failing, nullptr);
  expect_clean_books(*failing);
}

TEST(MemoryFaults, AnAllocationFailingMidRunStopsRunToCompletionWithOneError) {
  const AllocationProfile p = profile();
  const auto [fail_at, step] = p.first_allocation_after_a_result();
  ASSERT_GT(step, 0) << "the run allocates nothing once a request finished: nothing to fail mid-run";
  std::shared_ptr<FailingAllocBackend> failing;
  std::string error;
  int64_t steps_done = 0;
  try {
    kvwb::Run run(small_config(), requests(), nullptr, failing_at(fail_at, failing));
    run.run_to_completion([&](int64_t, int64_t) { ++steps_done; });
  } catch (const Error& e) {
    error = e.what();
  }
  EXPECT_EQ(steps_done, step) << "the steps before the failing one completed";
  expect_one_line_error(error, "");
  ASSERT_NE(failing, nullptr);
  expect_clean_books(*failing);
}

TEST(MemoryFaults, ARecordedRunThatFailsMidRunLeavesAReadableInterruptedSession) {
  const AllocationProfile p = profile();
  const auto [fail_at, step] = p.first_allocation_after_a_result();
  ASSERT_GT(step, 0);
  ScratchDir dir;
  const std::string db = dir.file("s.db");
  std::shared_ptr<FailingAllocBackend> failing;
  int64_t session = 0;
  std::string error;
  {
    kvwb::Run run(small_config(), requests(), nullptr, failing_at(fail_at, failing));
    RunRecording recording(run, db);  // as kvwb-cli run --record: destroyed while the error unwinds
    session = recording.session_id();
    try {
      run.run_to_completion();
    } catch (const Error& e) {
      error = e.what();
    }
  }
  expect_one_line_error(error, "");
  expect_clean_books(*failing);

  SessionStore store = SessionStore::open(db, sqlite::OpenMode::read_only);
  ASSERT_EQ(store.list().size(), 1u);
  const Session s = store.load(session);
  EXPECT_EQ(s.info.status, SessionStatus::interrupted);
  EXPECT_TRUE(s.summary.is_null()) << "no summary for a run that did not finish";
  // Every step before the failing one, as the run without a failure took it.
  ASSERT_EQ(static_cast<int64_t>(s.steps.size()), step);
  for (size_t i = 0; i < s.steps.size(); ++i) {
    EXPECT_EQ(s.steps[i].step, static_cast<int64_t>(i));
    EXPECT_EQ(s.steps[i].batch_size, p.steps[i].batch_size) << "step " << i;
    EXPECT_EQ(s.steps[i].peak_blocks_used, p.steps[i].peak_blocks_used) << "step " << i;
  }
  // Every request finished before the failure, none after.
  std::set<std::string> results;
  for (const SessionResult& r : s.results) results.insert(r.id);
  EXPECT_EQ(results, p.finished_by_step[static_cast<size_t>(step - 1)]);
}

}  // namespace
}  // namespace kvwb
