// Cost of recording a session: engine step time on the llama-tied fixture model with and
// without a RunRecording attached (same workload, runs interleaved in alternating order so
// machine noise hits both alike), and the rows per second the recorder's writer commits. Results: docs/benchmarks.md.
//
//   build/bench/sessions_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>
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

RunConfig bench_config(int threads) {
  RunConfig c;
  c.model = std::string(KVWB_BENCH_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  c.workload = write_workload();
  c.kv_pool_bytes = int64_t{8} << 20;
  c.block_size = 16;
  c.max_batch = 8;
  c.threads = threads;
  return c;
}

// Seconds spent inside Run::step() (observers included), and the number of steps.
std::pair<double, int64_t> timed_run(const RunConfig& config, std::shared_ptr<const Model> model, bool record,
                                     int64_t retention_every = 8) {
  Run run(config, std::move(model));
  const std::string db = scratch("overhead.db");
  std::unique_ptr<RunRecording> recording;
  RecordingOptions options;
  options.retention_every = retention_every;
  if (record) recording = std::make_unique<RunRecording>(run, db, options);
  double seconds = 0;
  int64_t steps = 0;
  while (!run.done()) {
    const auto t0 = Clock::now();
    run.step();
    seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++steps;
  }
  if (recording) recording->finish();
  recording.reset();
  remove_db(db);
  return {seconds, steps};
}

void BM_RecordingOverhead(benchmark::State& state) {
  const RunConfig config = bench_config(static_cast<int>(state.range(0)));
  const int64_t retention_every = state.range(1);
  const std::shared_ptr<const Model> model(load_model(resolve_model_path(config.model)));
  double plain = 0, recorded = 0;
  int64_t plain_steps = 0, recorded_steps = 0;
  std::vector<double> pair_overheads;  // per interleaved pair: robust to load that comes and goes
  timed_run(config, model, true);      // warm caches and the file system once
  bool recorded_first = false;  // alternate the order so neither run always goes second
  for (auto _ : state) {
    std::pair<double, int64_t> x, y;
    if (recorded_first) {
      y = timed_run(config, model, true, retention_every);
      x = timed_run(config, model, false);
    } else {
      x = timed_run(config, model, false);
      y = timed_run(config, model, true, retention_every);
    }
    recorded_first = !recorded_first;
    const auto [a, n] = x;
    const auto [b, m] = y;
    plain += a;
    recorded += b;
    plain_steps += n;
    recorded_steps += m;
    pair_overheads.push_back(100.0 * ((b / static_cast<double>(m)) / (a / static_cast<double>(n)) - 1.0));
  }
  std::sort(pair_overheads.begin(), pair_overheads.end());
  const double plain_us = 1e6 * plain / static_cast<double>(plain_steps);
  const double recorded_us = 1e6 * recorded / static_cast<double>(recorded_steps);
  state.counters["steps_per_run"] = static_cast<double>(plain_steps) / static_cast<double>(state.iterations());
  state.counters["step_us_plain"] = plain_us;
  state.counters["step_us_recorded"] = recorded_us;
  state.counters["overhead_pct_mean"] = 100.0 * (recorded_us - plain_us) / plain_us;
  state.counters["overhead_pct_median"] = pair_overheads[pair_overheads.size() / 2];
}
BENCHMARK(BM_RecordingOverhead)
    ->Args({1, 0})
    ->Args({1, 8})
    ->Args({2, 8})
    ->ArgNames({"threads", "retention_every"})
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

// Rows the writer commits per second when fed as fast as the producer can enqueue.
void BM_RecorderRowsPerSecond(benchmark::State& state) {
  const bool with_retention = state.range(0) != 0;
  const int64_t rows = 20000;
  std::vector<StepStats> steps;
  for (int64_t i = 0; i < rows; ++i) steps.push_back(synthetic_step(i, with_retention && i % 8 == 0));
  NewSession session;
  session.name = "bench";
  session.config = nlohmann::json::object();
  RecorderOptions options;
  options.queue_capacity = static_cast<size_t>(rows);  // measure the writer, not drops
  int64_t written = 0, dropped = 0;
  for (auto _ : state) {
    const std::string db = scratch("rows.db");
    const auto t0 = Clock::now();
    {
      SessionRecorder recorder(db, session, options);
      for (const StepStats& s : steps) recorder.record_step(s);
      recorder.finish(nlohmann::json::object());
      dropped += recorder.dropped();
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    written += rows;
    remove_db(db);
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(written), benchmark::Counter::kIsRate);
  state.counters["dropped"] = static_cast<double>(dropped);
}
BENCHMARK(BM_RecorderRowsPerSecond)->Arg(0)->Arg(1)->ArgName("retention_every_8")->UseManualTime()->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvwb

BENCHMARK_MAIN();
