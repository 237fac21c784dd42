// Recording: spans, counters and instants reach the trace with their fields; disabled profilers
// record nothing; the cap drops and counts; several threads record without losing events.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include "profiler/profiler.h"
#include "profiler/scoped_span.h"

namespace kvwb {
namespace {

TEST(Recording, ScopedSpanRecordsNameCategoryStepArgsAndTimes) {
  Profiler profiler;
  profiler.set_step(7);
  const int64_t before = now_ns();
  {
    ScopedSpan span(&profiler, "matmul", Category::op);
    span.arg("n", 4).arg("cols", 64);
  }
  const int64_t after = now_ns();
  const Trace trace = profiler.take();
  ASSERT_EQ(trace.spans.size(), 1u);
  const Span& s = trace.spans[0];
  EXPECT_EQ(s.name, "matmul");
  EXPECT_EQ(s.category, Category::op);
  EXPECT_EQ(s.step, 7);
  EXPECT_LE(before, s.start_ns);
  EXPECT_LE(s.start_ns, s.end_ns);
  EXPECT_LE(s.end_ns, after);
  ASSERT_EQ(s.args.size(), 2u);
  EXPECT_EQ(s.args[0], (Arg{"n", int64_t{4}}));
  EXPECT_EQ(s.args[1], (Arg{"cols", int64_t{64}}));
  EXPECT_EQ(s.track.kind, Track::Kind::cpu_thread);
  EXPECT_EQ(trace.origin_ns, profiler.origin_ns());
  EXPECT_EQ(trace.dropped_events, 0);
}

TEST(Recording, ArgsBeyondTheLimitAreIgnored) {
  Profiler profiler;
  {
    ScopedSpan span(&profiler, "op");
    for (int i = 0; i < kMaxSpanArgs + 3; ++i) span.arg("k", i);
  }
  const Trace trace = profiler.take();
  ASSERT_EQ(trace.spans.size(), 1u);
  EXPECT_EQ(trace.spans[0].args.size(), static_cast<size_t>(kMaxSpanArgs));
}

TEST(Recording, NullOrDisabledProfilerRecordsNothing) {
  Profiler profiler(ProfilerOptions{.enabled = false});
  {
    ScopedSpan a(nullptr, "a");
    ScopedSpan b(&profiler, "b");
    EXPECT_FALSE(a.active());
    EXPECT_FALSE(b.active());
    profiler.counter("c", 1.0);
    profiler.instant("i", Category::config);
  }
  const Trace trace = profiler.take();
  EXPECT_TRUE(trace.spans.empty());
  EXPECT_TRUE(trace.counters.empty());
  EXPECT_TRUE(trace.instants.empty());

  profiler.set_enabled(true);
  { ScopedSpan c(&profiler, "c"); }
  EXPECT_EQ(profiler.take().spans.size(), 1u);
}

TEST(Recording, CurrentProfilerIsBoundPerScopeAndThread) {
  Profiler outer, inner;
  EXPECT_EQ(Profiler::current(), nullptr);
  {
    CurrentProfiler bind_outer(&outer);
    { ScopedSpan s("on outer"); }
    {
      CurrentProfiler bind_inner(&inner);
      EXPECT_EQ(Profiler::current(), &inner);
      { ScopedSpan s("on inner"); }
      // Another thread has no current profiler of its own.
      std::thread([] { EXPECT_EQ(Profiler::current(), nullptr); }).join();
    }
    EXPECT_EQ(Profiler::current(), &outer);
  }
  EXPECT_EQ(Profiler::current(), nullptr);
  { ScopedSpan s("nowhere"); }
  const Trace a = outer.take(), b = inner.take();
  ASSERT_EQ(a.spans.size(), 1u);
  ASSERT_EQ(b.spans.size(), 1u);
  EXPECT_EQ(a.spans[0].name, "on outer");
  EXPECT_EQ(b.spans[0].name, "on inner");
}

TEST(Recording, CountersAndInstantsKeepTheirFields) {
  Profiler profiler;
  profiler.set_step(3);
  profiler.counter("batch_size", 5);
  profiler.counter("kv_bytes", 1.5e9, 42, 123456);
  profiler.instant("budget_tokens=256", Category::config, {{"budget_tokens", int64_t{256}}});
  const Trace trace = profiler.take();
  ASSERT_EQ(trace.counters.size(), 2u);
  EXPECT_EQ(trace.counters[0].name, "batch_size");
  EXPECT_EQ(trace.counters[0].value, 5);
  EXPECT_EQ(trace.counters[0].step, 3);
  EXPECT_EQ(trace.counters[1].name, "kv_bytes");
  EXPECT_EQ(trace.counters[1].value, 1.5e9);
  EXPECT_EQ(trace.counters[1].step, 42);
  EXPECT_EQ(trace.counters[1].time_ns, 123456);
  ASSERT_EQ(trace.instants.size(), 1u);
  EXPECT_EQ(trace.instants[0].name, "budget_tokens=256");
  EXPECT_EQ(trace.instants[0].category, Category::config);
  EXPECT_EQ(trace.instants[0].step, 3);
  ASSERT_EQ(trace.instants[0].args.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(trace.instants[0].args[0].value), 256);
}

TEST(Recording, TakeEmptiesTheProfiler) {
  Profiler profiler;
  { ScopedSpan s(&profiler, "a"); }
  profiler.counter("c", 1);
  EXPECT_EQ(profiler.take().spans.size(), 1u);
  const Trace second = profiler.take();
  EXPECT_TRUE(second.spans.empty());
  EXPECT_TRUE(second.counters.empty());
}

TEST(Recording, EventsBeyondTheCapAreDroppedAndCounted) {
  Profiler profiler(ProfilerOptions{.max_events = 10});
  for (int i = 0; i < 25; ++i) {
    ScopedSpan s(&profiler, "op");
  }
  profiler.counter("c", 1);  // also over the cap
  EXPECT_EQ(profiler.dropped(), 16);
  Trace first = profiler.take();
  EXPECT_EQ(first.spans.size(), 10u);
  EXPECT_EQ(first.dropped_events, 16);

  // take() frees the room; the next batch reports only its own drops.
  for (int i = 0; i < 12; ++i) {
    ScopedSpan s(&profiler, "op");
  }
  Trace second = profiler.take();
  EXPECT_EQ(second.spans.size(), 10u);
  EXPECT_EQ(second.dropped_events, 2);
  EXPECT_EQ(profiler.dropped(), 18);

  first.append(std::move(second));
  EXPECT_EQ(first.spans.size(), 20u);
  EXPECT_EQ(first.dropped_events, 18);
}

TEST(Recording, FourThreadsRecordEveryEventOnTheirOwnTrack) {
  Profiler profiler;
  constexpr int kThreads = 4, kSteps = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&profiler, t] {
      profiler.name_this_thread("worker " + std::to_string(t));
      for (int i = 0; i < kSteps; ++i) {
        ScopedSpan outer(&profiler, "outer", Category::scheduler);
        outer.arg("thread", t).arg("i", i);
        ScopedSpan inner(&profiler, "inner", Category::op);
        if (i % 100 == 0) profiler.counter("progress", i);
      }
    });
  }
  // Take concurrently with the recording too: nothing may be lost or duplicated.
  Trace trace;
  for (int i = 0; i < 20; ++i) {
    trace.append(profiler.take());
    std::this_thread::yield();
  }
  for (std::thread& th : threads) th.join();
  trace.append(profiler.take());

  EXPECT_EQ(trace.dropped_events, 0);
  EXPECT_EQ(trace.spans.size(), static_cast<size_t>(kThreads * kSteps * 2));
  EXPECT_EQ(trace.counters.size(), static_cast<size_t>(kThreads * kSteps / 100));

  // Each thread's outer spans carry its index, all on one track, each i exactly once.
  std::map<int64_t, Track> track_of_thread;
  std::map<int64_t, std::vector<int>> seen;
  for (const Span& s : trace.spans) {
    if (s.name != "outer") continue;
    const int64_t t = std::get<int64_t>(*s.arg("thread"));
    const int64_t i = std::get<int64_t>(*s.arg("i"));
    auto [it, fresh] = track_of_thread.emplace(t, s.track);
    EXPECT_EQ(it->second, s.track);
    auto& hits = seen[t];
    hits.resize(kSteps);
    ++hits[static_cast<size_t>(i)];
  }
  ASSERT_EQ(track_of_thread.size(), static_cast<size_t>(kThreads));
  for (const auto& [t, hits] : seen) {
    for (int count : hits) ASSERT_EQ(count, 1) << "thread " << t;
  }
  // Distinct tracks, each with its name.
  std::map<Track, int> tracks;
  for (const auto& [t, track] : track_of_thread) {
    ++tracks[track];
    EXPECT_EQ(trace.track_name(track), "worker " + std::to_string(t));
  }
  EXPECT_EQ(tracks.size(), static_cast<size_t>(kThreads));
}

// A stand-in for the GPU collector: records what ScopedSpan tells it.
class RecordingHook : public CorrelationHook {
 public:
  void enter(uint64_t op_id, const char* name, int64_t step) override {
    calls.push_back("enter " + std::to_string(op_id) + " " + name + " " + std::to_string(step));
  }
  void exit(uint64_t op_id) override { calls.push_back("exit " + std::to_string(op_id)); }
  std::vector<std::string> calls;
};

TEST(Recording, OpSpansTellTheCorrelationHookAndCarryTheOpId) {
  Profiler profiler;
  RecordingHook hook;
  profiler.set_correlation_hook(&hook);
  profiler.set_step(2);
  {
    ScopedSpan policy(&profiler, "score", Category::policy);  // not an op: no correlation
    ScopedSpan a(&profiler, "rope", Category::op);
  }
  { ScopedSpan b(&profiler, "matmul", Category::op); }
  profiler.set_correlation_hook(nullptr);
  { ScopedSpan c(&profiler, "add", Category::op); }

  EXPECT_EQ(hook.calls, (std::vector<std::string>{"enter 1 rope 2", "exit 1", "enter 2 matmul 2",
                                                  "exit 2"}));
  const Trace trace = profiler.take();
  std::map<std::string, const Span*> by_name;
  for (const Span& s : trace.spans) by_name[s.name] = &s;
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_EQ(std::get<int64_t>(*by_name["rope"]->arg("op_id")), 1);
  EXPECT_EQ(std::get<int64_t>(*by_name["matmul"]->arg("op_id")), 2);
  EXPECT_EQ(by_name["add"]->arg("op_id"), nullptr);
  EXPECT_EQ(by_name["score"]->arg("op_id"), nullptr);
}

TEST(Recording, AppendedBatchesStayInSpanOrder) {
  auto at = [](uint32_t thread, int64_t start, int64_t end) {
    return Span{"s", Category::op, start, end, Track{Track::Kind::cpu_thread, 0, thread}, 0, {}};
  };
  Trace first, second;
  first.origin_ns = 5;
  first.spans = {at(1, 10, 20), at(1, 30, 40), at(2, 0, 50)};
  second.origin_ns = 5;
  second.spans = {at(1, 30, 35), at(1, 50, 60), at(2, 0, 100)};
  first.append(std::move(second));
  ASSERT_EQ(first.spans.size(), 6u);
  EXPECT_TRUE(std::is_sorted(first.spans.begin(), first.spans.end(), span_order));
  // The longer of two spans starting together comes first: (30, 40) before (30, 35).
  EXPECT_EQ(first.spans[1].end_ns, 40);
  EXPECT_EQ(first.spans[2].end_ns, 35);
  EXPECT_EQ(first.spans[4].end_ns, 100);
  EXPECT_EQ(first.origin_ns, 5);
}

TEST(Recording, CategoryNamesRoundTrip) {
  for (Category c : {Category::step, Category::op, Category::kernel, Category::memcpy,
                     Category::memset, Category::memory, Category::policy, Category::compaction,
                     Category::scheduler, Category::sessions, Category::config}) {
    const auto parsed = parse_category(category_name(c));
    ASSERT_TRUE(parsed.has_value()) << category_name(c);
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_FALSE(parse_category("nope").has_value());
}

}  // namespace
}  // namespace kvwb
