// What profiling costs a run: time inside Run::step() for the same workload with profiling off
// and on (Run::enable_profiling: a step span, scheduler/policy/compaction spans, one span per
// backend op, the per-step counters). Runs are interleaved in alternating order so that load on
// a shared machine hits both alike; `overhead_pct_median` is the median over pairs of
// (profiled / plain − 1). Target: < 1 % (CPU timers). Results: docs/benchmarks.md.
//
//   build/bench/profiler_overhead_bench --benchmark_counters_tabular=true
//
// Three models, one engine thread each: the llama-tied fixture (64 wide, 2 layers: ops of a few
// µs, so the fixed cost per span weighs most), the demo model (256 wide, 4 layers) and SmolLM2-135M
// (576 wide, 30 layers, GGUF Q4_1; skipped when it is not in the model cache).
// KVWB_BENCH_BACKEND=cuda runs them on the GPU, profiled runs with CUPTI (GPU machines only).
// Besides wall time, the thread's CPU time inside Run::step() is compared: with one engine
// thread all of a step runs on it, and CPU time does not count the time other processes hold
// the core, so it is the steadier figure on a busy machine.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/model/model_paths.h"
#include "run/run.h"

namespace kvwb {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string write_workload(int requests, int prompt_bytes, int new_tokens) {
  const std::string path =
      (fs::temp_directory_path() / fmt::format("kvwb-profiler-overhead-{}-{}.jsonl", ::getpid(), prompt_bytes)).string();
  std::ofstream out(path);
  for (int i = 0; i < requests; ++i) {
    std::string prompt;
    while (static_cast<int>(prompt.size()) < prompt_bytes + 9 * i) prompt += fmt::format("word{} ", (i * 31 + prompt.size()) % 97);
    out << fmt::format("{{\"id\": \"r{}\", \"prompt\": \"{}\", \"max_new_tokens\": {}}}\n", i, prompt, new_tokens);
  }
  return path;
}

enum BenchModel { kFixture, kDemo, kSmolLM2 };

RunConfig bench_config(BenchModel which) {
  RunConfig c;
  // KVWB_BENCH_BACKEND=cuda: the CUDA backend, where profiling adds CUPTI activity records
  // (scripts/gpu-validate.sh bench; the target there is < 5 %).
  if (const char* backend = std::getenv("KVWB_BENCH_BACKEND")) c.backend = backend;
  c.threads = 1;
  c.block_size = 16;
  c.max_batch = 8;
  c.policy.name = "batch-max";  // evictions and compaction happen, so their spans are timed too
  c.policy.budget_tokens = 64;
  if (which == kFixture) {
    c.model = std::string(KVWB_BENCH_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
    c.workload = write_workload(16, 60, 48);
    c.kv_pool_bytes = int64_t{8} << 20;
  } else if (which == kDemo) {
    c.model = std::string(KVWB_BENCH_SOURCE_DIR) + "/models/demo";
    c.workload = write_workload(8, 300, 32);
    c.kv_pool_bytes = int64_t{64} << 20;
  } else {
    c.model = "smollm2";
    c.workload = write_workload(8, 300, 32);
    c.kv_pool_bytes = int64_t{256} << 20;
  }
  return c;
}

// CPU time of the calling thread: with one engine thread all of a step's work is on it, and
// unlike wall time it does not count the time other processes hold the core.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timed {
  double seconds = 0;      // wall time inside Run::step()
  double cpu_seconds = 0;  // thread CPU time inside Run::step()
  int64_t steps = 0;
  int64_t spans = 0;
};

Timed timed_run(const RunConfig& config, std::shared_ptr<const Model> model, bool profile,
                const ProfilerOptions& options = {}) {
  Run run(config, std::move(model));
  if (profile) run.enable_profiling(options);
  Timed t;
  while (!run.done()) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    run.step();
    t.cpu_seconds += thread_cpu_seconds() - c0;
    t.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++t.steps;
  }
  t.spans = static_cast<int64_t>(run.take_trace().spans.size());  // not timed
  return t;
}

// `reserved_spans`: ProfilerOptions::reserved_spans_per_thread (-1: the default); 0 shows what
// growing the span buffers inside the steps costs.
void BM_ProfilingOverhead(benchmark::State& state, BenchModel which, int64_t reserved_spans) {
  ProfilerOptions options;
  if (reserved_spans >= 0) options.reserved_spans_per_thread = reserved_spans;
  const RunConfig config = bench_config(which);
  std::shared_ptr<const Model> model;
  try {
    model = std::shared_ptr<const Model>(load_model(resolve_model_path(config.model)));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  timed_run(config, model, true, options);  // warm caches, page in the weights
  double plain = 0, profiled = 0, plain_cpu = 0, profiled_cpu = 0;
  int64_t plain_steps = 0, profiled_steps = 0, spans = 0;
  std::vector<double> pair_overheads, pair_cpu_overheads;
  bool profiled_first = false;
  for (auto _ : state) {
    Timed a, b;
    if (profiled_first) {
      b = timed_run(config, model, true, options);
      a = timed_run(config, model, false);
    } else {
      a = timed_run(config, model, false);
      b = timed_run(config, model, true, options);
    }
    profiled_first = !profiled_first;
    plain += a.seconds;
    profiled += b.seconds;
    plain_cpu += a.cpu_seconds;
    profiled_cpu += b.cpu_seconds;
    plain_steps += a.steps;
    profiled_steps += b.steps;
    spans += b.spans;
    pair_overheads.push_back(100.0 * ((b.seconds / static_cast<double>(b.steps)) / (a.seconds / static_cast<double>(a.steps)) - 1.0));
    pair_cpu_overheads.push_back(
        100.0 * ((b.cpu_seconds / static_cast<double>(b.steps)) / (a.cpu_seconds / static_cast<double>(a.steps)) - 1.0));
  }
  std::sort(pair_overheads.begin(), pair_overheads.end());
  std::sort(pair_cpu_overheads.begin(), pair_cpu_overheads.end());
  const double plain_us = 1e6 * plain / static_cast<double>(plain_steps);
  const double profiled_us = 1e6 * profiled / static_cast<double>(profiled_steps);
  state.counters["steps_per_run"] = static_cast<double>(plain_steps) / static_cast<double>(state.iterations());
  state.counters["spans_per_step"] = static_cast<double>(spans) / static_cast<double>(profiled_steps);
  state.counters["step_us_plain"] = plain_us;
  state.counters["step_us_profiled"] = profiled_us;
  state.counters["ratio"] = profiled_us / plain_us;
  state.counters["overhead_pct_mean"] = 100.0 * (profiled_us - plain_us) / plain_us;
  state.counters["overhead_pct_median"] = pair_overheads[pair_overheads.size() / 2];
  state.counters["cpu_step_us_plain"] = 1e6 * plain_cpu / static_cast<double>(plain_steps);
  state.counters["cpu_step_us_profiled"] = 1e6 * profiled_cpu / static_cast<double>(profiled_steps);
  state.counters["cpu_overhead_pct_median"] = pair_cpu_overheads[pair_cpu_overheads.size() / 2];
}
BENCHMARK_CAPTURE(BM_ProfilingOverhead, fixture, kFixture, -1)->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ProfilingOverhead, fixture_unreserved, kFixture, 0)->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ProfilingOverhead, demo, kDemo, -1)->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ProfilingOverhead, smollm2, kSmolLM2, -1)->Iterations(8)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvwb

BENCHMARK_MAIN();
