// Overhead of the profiler's CPU timers: nanoseconds per ScopedSpan with no profiler, with a
// disabled one, with an enabled one (explicit and thread-current), and with two args; plus one
// step counter sample and the cost of take() per span. Results: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include "profiler/scoped_span.h"
#include "profiler/step_counters.h"

namespace kvwb {
namespace {

// The cap is never hit. take() every 64k spans (outside the timing) as a run would every few
// steps: after two batches the thread's buffers keep their capacity, so what is timed is the
// steady state, not first-touch page faults of fresh buffer memory.
constexpr int64_t kCap = int64_t{1} << 22;
constexpr int64_t kTakeEvery = int64_t{1} << 16;

void BM_SpanNoProfiler(benchmark::State& state) {
  Profiler* none = nullptr;
  benchmark::DoNotOptimize(none);
  for (auto _ : state) {
    ScopedSpan span(none, "op");
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SpanNoProfiler);

void BM_SpanDisabled(benchmark::State& state) {
  Profiler profiler(ProfilerOptions{.enabled = false});
  for (auto _ : state) {
    ScopedSpan span(&profiler, "op");
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SpanDisabled);

void BM_SpanCurrentUnbound(benchmark::State& state) {
  for (auto _ : state) {
    ScopedSpan span("op");  // no current profiler on this thread
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SpanCurrentUnbound);

void BM_SpanEnabled(benchmark::State& state) {
  Profiler profiler(ProfilerOptions{.max_events = kCap});
  int64_t recorded = 0;
  for (auto _ : state) {
    {
      ScopedSpan span(&profiler, "op");
    }
    if (++recorded == kTakeEvery) {
      state.PauseTiming();
      benchmark::DoNotOptimize(profiler.take());
      recorded = 0;
      state.ResumeTiming();
    }
  }
  state.counters["dropped"] = static_cast<double>(profiler.dropped());
}
BENCHMARK(BM_SpanEnabled);

void BM_SpanEnabledCurrentWithArgs(benchmark::State& state) {
  Profiler profiler(ProfilerOptions{.max_events = kCap});
  CurrentProfiler bind(&profiler);
  int64_t recorded = 0;
  for (auto _ : state) {
    {
      ScopedSpan span("matmul");
      span.arg("n", 16).arg("cols", 576);
    }
    if (++recorded == kTakeEvery) {
      state.PauseTiming();
      benchmark::DoNotOptimize(profiler.take());
      recorded = 0;
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_SpanEnabledCurrentWithArgs);

// The cost of merging: take() of 10k spans, reported per span.
void BM_TakePerSpan(benchmark::State& state) {
  Profiler profiler;
  constexpr int kSpans = 10'000;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kSpans; ++i) {
      ScopedSpan span(&profiler, "op");
    }
    state.ResumeTiming();
    benchmark::DoNotOptimize(profiler.take());
  }
  state.SetItemsProcessed(state.iterations() * kSpans);
}
BENCHMARK(BM_TakePerSpan);

// One step's counters, including the /proc/self/statm read.
void BM_StepCounters(benchmark::State& state) {
  Profiler profiler(ProfilerOptions{.max_events = kCap});
  StepCounters counters;
  counters.retained = RetainedTokens{1, 2, 3};
  int64_t step = 0;
  for (auto _ : state) {
    record_step_counters(profiler, step, counters, step);
    if (++step % 10'000 == 0) {
      state.PauseTiming();
      benchmark::DoNotOptimize(profiler.take());
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_StepCounters);

}  // namespace
}  // namespace kvwb

BENCHMARK_MAIN();
