// Cost of recording a session: engine step time (wall, and the engine thread's CPU time) with
// and without a RunRecording attached, on the llama-tied fixture (ops of a few µs: the worst
// case) and the demo model (same workload, runs interleaved in alternating order so machine
// noise hits both alike); optionally both runs profiled, so that the recorded one also streams
// the profiler's events. And the rows per second the recorder's writer commits.
// Results: docs/benchmarks.md.
//
//   build/bench/sessions_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "engine/model/model_paths.h"
#include "run/run.h"
#include "run/session_recording.h"
#include "sessions/session_recorder.h"

namespace kvwb {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string scratch(const std::string& name) {
  return (fs::temp_directory_path() / fmt::format("kvwb-sessions-bench-{}-{}", ::getpid(), name)).string();
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
}

std::string write_workload() {
  const std::string path = scratch("workload.jsonl");
  std::ofstream out(path);
  for (int i = 0; i < 16; ++i) {
    out << fmt::format("{{\"id\": \"r{}\", \"prompt\": \"{}\", \"max_new_tokens\": 48}}\n", i,
                       std::string(static_cast<size_t>(40 + 7 * i), static_cast<char>('a' + i % 26)));
  }
  return path;
}

RunConfig bench_config(int threads, bool demo) {
  RunConfig c;
  c.model = std::string(KVWB_BENCH_SOURCE_DIR) + (demo ? "/models/demo" : "/tests/fixtures/models/llama-tied");
  c.workload = write_workload();
  c.kv_pool_bytes = int64_t{8} << 20;
  c.block_size = 16;
  c.max_batch = 8;
  c.threads = threads;
  return c;
}

// CPU time of the calling thread (the engine thread: the writer runs on its own).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timed {
  double seconds = 0;      // wall time inside Run::step() (observers included)
  double cpu_seconds = 0;  // the engine thread's CPU time inside Run::step()
  int64_t steps = 0;
};

Timed timed_run(const RunConfig& config, std::shared_ptr<const Model> model, bool record, bool profile,
                int64_t retention_every = 8) {
  Run run(config, std::move(model));
  if (profile) run.enable_profiling();
  const std::string db = scratch("overhead.db");
  std::unique_ptr<RunRecording> recording;
  RecordingOptions options;
  options.retention_every = retention_every;
  if (record) recording = std::make_unique<RunRecording>(run, db, options);
  Timed t;
  while (!run.done()) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    run.step();
    t.cpu_seconds += thread_cpu_seconds() - c0;
    t.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++t.steps;
  }
  if (recording) recording->finish();
  recording.reset();
  remove_db(db);
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Args: engine threads, steps between retention snapshots (0: none), model (0: fixture,
// 1: demo), profiled (1: both runs profiled; the recorded one also streams the events).
void BM_RecordingOverhead(benchmark::State& state) {
  const RunConfig config = bench_config(static_cast<int>(state.range(0)), state.range(2) != 0);
  const int64_t retention_every = state.range(1);
  const bool profile = state.range(3) != 0;
  const std::shared_ptr<const Model> model(load_model(resolve_model_path(config.model)));
  Timed plain, recorded;
  std::vector<double> pair_overheads, pair_cpu_overheads;  // per interleaved pair: robust to load that comes and goes
  timed_run(config, model, true, profile);  // warm caches and the file system once
  bool recorded_first = false;  // alternate the order so neither run always goes second
  for (auto _ : state) {
    Timed a, b;
    if (recorded_first) {
      b = timed_run(config, model, true, profile, retention_every);
      a = timed_run(config, model, false, profile);
    } else {
      a = timed_run(config, model, false, profile);
      b = timed_run(config, model, true, profile, retention_every);
    }
    recorded_first = !recorded_first;
    auto per_step = [](double seconds, int64_t steps) { return seconds / static_cast<double>(steps); };
    pair_overheads.push_back(100.0 * (per_step(b.seconds, b.steps) / per_step(a.seconds, a.steps) - 1.0));
    pair_cpu_overheads.push_back(100.0 * (per_step(b.cpu_seconds, b.steps) / per_step(a.cpu_seconds, a.steps) - 1.0));
    for (auto [sum, x] : {std::pair{&plain, &a}, std::pair{&recorded, &b}}) {
      sum->seconds += x->seconds;
      sum->cpu_seconds += x->cpu_seconds;
      sum->steps += x->steps;
    }
  }
  const double plain_us = 1e6 * plain.seconds / static_cast<double>(plain.steps);
  const double recorded_us = 1e6 * recorded.seconds / static_cast<double>(recorded.steps);
  state.counters["steps_per_run"] = static_cast<double>(plain.steps) / static_cast<double>(state.iterations());
  state.counters["step_us_plain"] = plain_us;
  state.counters["step_us_recorded"] = recorded_us;
  state.counters["overhead_pct_mean"] = 100.0 * (recorded_us - plain_us) / plain_us;
  state.counters["overhead_pct_median"] = median(pair_overheads);
  state.counters["cpu_step_us_plain"] = 1e6 * plain.cpu_seconds / static_cast<double>(plain.steps);
  state.counters["cpu_step_us_recorded"] = 1e6 * recorded.cpu_seconds / static_cast<double>(recorded.steps);
  state.counters["cpu_overhead_pct_median"] = median(pair_cpu_overheads);
}
BENCHMARK(BM_RecordingOverhead)
    ->Args({1, 0, 0, 0})
    ->Args({1, 8, 0, 0})
    ->Args({1, 8, 1, 0})
    ->Args({1, 8, 0, 1})
    ->Args({1, 8, 1, 1})
    ->ArgNames({"threads", "retention_every", "demo", "profiled"})
    ->Iterations(40)->Unit(benchmark::kMillisecond);

StepStats synthetic_step(int64_t i, bool with_retention) {
  StepStats s;
  s.step = i;
  s.batch_size = 8;
  s.blocks_used = 100 + i % 50;
  s.kv_bytes_used = s.blocks_used * 4096;
  if (with_retention) {
    // 8 sequences x 2 layers x 2 KV heads, ~128 retained positions each.
    for (int seq = 0; seq < 8; ++seq) {
      for (int32_t l = 0; l < 2; ++l) {
        for (int32_t h = 0; h < 2; ++h) {
          HeadRetention r;
          r.request_id = fmt::format("r{}", seq);
          r.layer = l;
          r.head = h;
          for (int32_t p = 0; p < 256; p += 2) r.positions.push_back(p);
          r.length = static_cast<int32_t>(r.positions.size());
          s.retention.push_back(std::move(r));
        }
      }
    }
  }
  return s;
}

// What recording costs the engine thread per step: the copy into the queue (the writer runs
// concurrently and is not timed here), with and without a retention snapshot in the step.
void BM_RecordStepEnqueue(benchmark::State& state) {
  const StepStats step = synthetic_step(7, state.range(0) != 0);
  NewSession session;
  session.name = "bench";
  session.config = nlohmann::json::object();
  const std::string db = scratch("enqueue.db");
  RecorderOptions options;
  options.queue_capacity = 1 << 16;  // time the enqueue, not waits for room
  {
    SessionRecorder recorder(db, session, options);
    int64_t dropped = 0;
    for (auto _ : state) {
      if (!recorder.record_step(step)) ++dropped;
    }
    recorder.finish(nlohmann::json::object());
    state.counters["dropped"] = static_cast<double>(dropped);
  }
  remove_db(db);
}
BENCHMARK(BM_RecordStepEnqueue)->Arg(0)->Arg(1)->ArgName("with_retention")->Iterations(20000);

// Feeds `items` to a fresh recorder (its queue holds them all: the writer is measured, not
// drops) through `record`, once per iteration, and reports the rows committed per second.
template <typename Item, typename Record>
void measure_rows_per_second(benchmark::State& state, const std::vector<Item>& items, int64_t rows_per_run,
                             Record record) {
  NewSession session;
  session.name = "bench";
  session.config = nlohmann::json::object();
  RecorderOptions options;
  options.queue_capacity = items.size();
  int64_t written = 0, dropped = 0;
  for (auto _ : state) {
    const std::string db = scratch("rows.db");
    const auto t0 = Clock::now();
    {
      SessionRecorder recorder(db, session, options);
      for (const Item& item : items) record(recorder, item);
      recorder.finish(nlohmann::json::object());
      dropped += recorder.dropped();
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    written += rows_per_run;
    remove_db(db);
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(written), benchmark::Counter::kIsRate);
  state.counters["dropped"] = static_cast<double>(dropped);
}

// Step rows, optionally with a retention snapshot every 8 steps.
void BM_RecorderRowsPerSecond(benchmark::State& state) {
  const bool with_retention = state.range(0) != 0;
  const int64_t rows = 20000;
  std::vector<StepStats> steps;
  for (int64_t i = 0; i < rows; ++i) steps.push_back(synthetic_step(i, with_retention && i % 8 == 0));
  measure_rows_per_second(state, steps, rows, [](SessionRecorder& r, const StepStats& s) { r.record_step(s); });
}
BENCHMARK(BM_RecorderRowsPerSecond)->Arg(0)->Arg(1)->ArgName("retention_every_8")->UseManualTime()->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// Profiler event rows: 2000 steps of 100 spans (2 args each) and 13 counters, each step one
// Trace item as a profiled RunRecording queues it.
void BM_RecorderEventRowsPerSecond(benchmark::State& state) {
  const int64_t steps = 2000;
  std::vector<Trace> traces(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i) {
    Trace& t = traces[static_cast<size_t>(i)];
    for (int64_t k = 0; k < 100; ++k) {
      t.spans.push_back(Span{"matmul", Category::op, i * 1000 + k * 10, i * 1000 + k * 10 + 9, Track{}, i,
                             {{"n", int64_t{8}}, {"rows", int64_t{576}}}});
    }
    for (int64_t k = 0; k < 13; ++k) t.counters.push_back(Counter{"batch_size", 8.0, i, i * 1000});
  }
  measure_rows_per_second(state, traces, steps * 113, [](SessionRecorder& r, const Trace& t) { r.record_trace(t); });
}
BENCHMARK(BM_RecorderEventRowsPerSecond)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvwb

BENCHMARK_MAIN();
