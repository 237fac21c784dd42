// Profiling a real Run (llama-tied fixture, Batch-Max with a small budget so the engine evicts
// and compacts, prefill in chunks so several steps run at once): the Chrome trace parses back,
// holds one step span per engine step with every op span nested inside it on the same thread;
// the spans inside a step account for its wall time; the counters of every step equal the
// engine's own StepStats; and profiling changes no output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/core/json_file.h"
#include "profiler/chrome_trace.h"
#include "profiler/step_counters.h"
#include "run/run.h"

namespace kvwb {
namespace {

std::string scratch(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/kvwb_profiled_run";
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

RunConfig profiled_config() {
  const std::string workload = scratch("workload.jsonl");
  std::ofstream(workload) << "{\"id\": \"a\", \"prompt\": \"" << std::string(60, 'x') << " tail\", \"max_new_tokens\": 12}\n"
                          << "{\"id\": \"b\", \"prompt\": \"" << std::string(40, 'y') << "\", \"max_new_tokens\": 8}\n"
                          << "{\"id\": \"c\", \"prompt\": \"the cat sat on the mat\", \"max_new_tokens\": 6}\n";
  RunConfig config;
  config.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  config.workload = workload;
  config.kv_pool_bytes = int64_t{4} << 20;
  config.block_size = 8;
  config.prefill_chunk = 16;
  config.threads = 1;
  config.policy.name = "batch-max";
  config.policy.budget_tokens = 24;
  config.policy.sinks = 2;
  config.policy.protected_recent = 8;
  config.policy.window = 8;
  config.policy.decode_interval = 2;
  return config;
}

struct ProfiledResult {
  std::vector<StepStats> steps;
  Trace trace;
  std::vector<RequestResult> results;
};

// Steps the run to completion, asking for a retention snapshot at every step (the independent
// source of the retained-tokens counters).
ProfiledResult run_profiled(bool profile, bool snapshots = true) {
  kvwb::Run run(profiled_config());
  if (profile) run.enable_profiling();
  ProfiledResult r;
  while (!run.done()) {
    if (snapshots) run.engine().request_retention_snapshot();
    r.steps.push_back(run.step().stats);
  }
  r.trace = run.take_trace();
  r.results = run.results();
  return r;
}

const ProfiledResult& profiled() {
  static const ProfiledResult r = run_profiled(true);
  return r;
}

TEST(ProfiledRun, ChromeTraceParsesWithOneStepSpanPerStepAndOpsNestedOnItsThread) {
  const ProfiledResult& r = profiled();
  ASSERT_GT(r.steps.size(), 3u);
  const std::string path = scratch("trace.json");
  write_chrome_trace(r.trace, path);
  const nlohmann::json j = read_json_file(path);  // parses back
  ASSERT_TRUE(j.at("traceEvents").is_array());
  EXPECT_EQ(j.at("otherData").at("dropped_events").get<int64_t>(), 0);

  struct Event {
    std::string name, cat;
    double ts, dur;
    int pid, tid;
    int64_t step;
  };
  std::vector<Event> steps, ops;
  std::map<std::string, int> categories;
  for (const auto& e : j.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    Event ev{e.at("name"), e.at("cat"), e.at("ts"), e.at("dur"), e.at("pid"), e.at("tid"), e.at("args").at("step")};
    ++categories[ev.cat];
    if (ev.cat == "step") steps.push_back(ev);
    else ops.push_back(ev);  // every other span of a step: ops, scheduler, policy, compaction
  }
  // One step span per engine step, numbered as the engine numbered them.
  ASSERT_EQ(steps.size(), r.steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].name, "step");
    EXPECT_EQ(steps[i].step, r.steps[i].step);
  }
  EXPECT_GT(categories["op"], 0);
  EXPECT_GT(categories["scheduler"], 0);
  EXPECT_GT(categories["policy"], 0);
  EXPECT_GT(categories["compaction"], 0) << "the budget should make the cache compact";

  // Every other span lies inside the step span of its step, on the same thread. Times are in
  // microseconds as doubles: allow 1 ns of rounding.
  const double eps = 1e-3;
  for (const Event& op : ops) {
    ASSERT_GE(op.step, 0) << op.name;
    ASSERT_LT(op.step, static_cast<int64_t>(steps.size())) << op.name;
    const Event& step = steps[static_cast<size_t>(op.step)];
    EXPECT_EQ(op.pid, step.pid) << op.name;
    EXPECT_EQ(op.tid, step.tid) << op.name;
    EXPECT_GE(op.ts, step.ts - eps) << op.name << " at step " << op.step;
    EXPECT_LE(op.ts + op.dur, step.ts + step.dur + eps) << op.name << " at step " << op.step;
  }
}

// Exact per step: op spans (which never nest in one another: the decorator forwards to the
// inner backend) sum to at most the step span, and so do the step's direct children (schedule,
// ops, evict). Stated margin: in the median step the direct children cover at least 75 % of the
// step's wall time and the op spans alone at least 40 % (measured here with 1 thread: about 87 %
// and 62 %; the rest is host bookkeeping between ops, CSR tables and loop control, which is large
// next to the ops of a 64-wide model). Medians, because a loaded 2-core machine may preempt the
// thread in any single step. No snapshots in this run: they add host copies of their own.
TEST(ProfiledRun, SpansInsideAStepAccountForItsWallTime) {
  const ProfiledResult r = run_profiled(true, /*snapshots=*/false);
  struct Cover {
    int64_t step_ns = 0, ops_ns = 0, children_ns = 0, children_end = 0;
  };
  std::map<int64_t, Cover> cover;
  bool in_step = false;
  for (const Span& s : r.trace.spans) {  // sorted by track, then start, parents first
    if (s.category == Category::step) {
      in_step = true;
      cover[s.step].step_ns = s.duration_ns();
      cover[s.step].children_end = s.start_ns;
      continue;
    }
    ASSERT_TRUE(in_step) << s.name << " before any step";
    Cover& c = cover[s.step];
    if (s.category == Category::op) c.ops_ns += s.duration_ns();
    if (s.start_ns >= c.children_end) {  // a direct child (not nested in an earlier sibling)
      c.children_ns += s.duration_ns();
      c.children_end = s.end_ns;
    }
  }
  ASSERT_EQ(cover.size(), r.steps.size());
  std::vector<double> ops_share, children_share;
  for (const auto& [step, c] : cover) {
    SCOPED_TRACE("step " + std::to_string(step));
    EXPECT_GT(c.ops_ns, 0);
    EXPECT_LE(c.ops_ns, c.children_ns);
    EXPECT_LE(c.children_ns, c.step_ns);
    ops_share.push_back(static_cast<double>(c.ops_ns) / static_cast<double>(c.step_ns));
    children_share.push_back(static_cast<double>(c.children_ns) / static_cast<double>(c.step_ns));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  EXPECT_GE(median(children_share), 0.75);
  EXPECT_GE(median(ops_share), 0.40);
  RecordProperty("median_children_share", std::to_string(median(children_share)));
  RecordProperty("median_ops_share", std::to_string(median(ops_share)));
}

TEST(ProfiledRun, CountersOfEveryStepEqualTheEnginesStepStats) {
  const ProfiledResult& r = profiled();
  std::map<int64_t, std::map<std::string, std::vector<double>>> by_step;
  for (const Counter& c : r.trace.counters) by_step[c.step][c.name].push_back(c.value);
  ASSERT_EQ(by_step.size(), r.steps.size());
  int64_t steps_with_evictions = 0;
  for (const StepStats& s : r.steps) {
    SCOPED_TRACE("step " + std::to_string(s.step));
    const auto& counters = by_step.at(s.step);
    auto value = [&](const char* name) {
      const auto it = counters.find(name);
      if (it == counters.end() || it->second.size() != 1) {
        ADD_FAILURE() << name << " should be recorded once";
        return -1.0;
      }
      return it->second.front();
    };
    namespace n = counter_names;
    EXPECT_EQ(value(n::batch_size), static_cast<double>(s.batch_size));
    EXPECT_EQ(value(n::running), static_cast<double>(s.running));
    EXPECT_EQ(value(n::waiting), static_cast<double>(s.waiting));
    EXPECT_EQ(value(n::kv_blocks_used), static_cast<double>(s.blocks_used));
    EXPECT_EQ(value(n::kv_blocks_free), static_cast<double>(s.blocks_free));
    EXPECT_EQ(value(n::kv_bytes), static_cast<double>(s.kv_bytes_used));
    EXPECT_EQ(value(n::evictions), static_cast<double>(s.evicted_slots));
    EXPECT_EQ(value(n::preemptions), static_cast<double>(s.preemptions));
    const double tokens = static_cast<double>(s.prefill_tokens + s.decode_tokens);
    EXPECT_DOUBLE_EQ(value(n::tokens_per_second), tokens / s.wall_seconds);
    EXPECT_GT(value(n::process_rss_bytes), 0);
    EXPECT_EQ(counters.count(n::gpu_memory_used_bytes), 0u) << "no GPU counter on the CPU backend";
    if (s.evicted_slots > 0) ++steps_with_evictions;

    // Retained tokens: the snapshot and the counter both cover every admitted sequence at the
    // end of the step, before finished ones left.
    if (!s.retention.empty()) {
      double lo = 1e18, hi = -1, sum = 0;
      for (const HeadRetention& h : s.retention) {
        lo = std::min(lo, static_cast<double>(h.length));
        hi = std::max(hi, static_cast<double>(h.length));
        sum += h.length;
      }
      EXPECT_EQ(value(n::retained_tokens_min), lo);
      EXPECT_EQ(value(n::retained_tokens_max), hi);
      EXPECT_NEAR(value(n::retained_tokens_mean), sum / static_cast<double>(s.retention.size()), 1e-9);
    }
  }
  EXPECT_GT(steps_with_evictions, 0);
}

TEST(ProfiledRun, ProfilingChangesNoOutputAndRecordsNothingWhenOff) {
  const ProfiledResult plain = run_profiled(false);
  EXPECT_TRUE(plain.trace.spans.empty());
  EXPECT_TRUE(plain.trace.counters.empty());
  const ProfiledResult& r = profiled();
  ASSERT_EQ(plain.results.size(), r.results.size());
  for (size_t i = 0; i < r.results.size(); ++i) {
    EXPECT_EQ(plain.results[i].id, r.results[i].id);
    EXPECT_EQ(plain.results[i].output_tokens, r.results[i].output_tokens) << r.results[i].id;
  }
  ASSERT_EQ(plain.steps.size(), r.steps.size());
  for (size_t i = 0; i < r.steps.size(); ++i) {
    EXPECT_EQ(plain.steps[i].batch_size, r.steps[i].batch_size);
    EXPECT_EQ(plain.steps[i].blocks_used, r.steps[i].blocks_used);
  }
}

TEST(ProfiledRun, TakeTraceReturnsOnlyWhatIsNew) {
  kvwb::Run run(profiled_config());
  run.enable_profiling();
  run.step();
  const Trace first = run.take_trace();
  run.step();
  const Trace second = run.take_trace();
  ASSERT_FALSE(first.spans.empty());
  ASSERT_FALSE(second.spans.empty());
  for (const Span& s : first.spans) EXPECT_EQ(s.step, 0) << s.name;
  for (const Span& s : second.spans) EXPECT_EQ(s.step, 1) << s.name;
  EXPECT_TRUE(run.gpu_activity_message().empty()) << "the CPU backend does not try CUPTI";
}

}  // namespace
}  // namespace kvwb
