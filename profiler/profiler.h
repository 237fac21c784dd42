#pragma once
// The recorder of one run. Pass a Profiler* around, or bind it as the thread's current profiler
// (CurrentProfiler) so that code deep below (kernels) can open spans without a parameter.
//
// Recording is thread-safe: each thread appends spans to its own buffer (one uncontended lock),
// and take() merges every buffer into a Trace. Memory is bounded: at most
// ProfilerOptions::max_events events are held until the next take(); later events are dropped
// and counted (Trace::dropped_events, dropped()). Spans that began while the profiler was
// enabled are kept; counter() and instant() are ignored while it is disabled.
//
// Typical use by the engine:
//   profiler.set_step(n);
//   { ScopedSpan step(&profiler, "step", Category::step); ... ops open their own spans ... }
//   record_step_counters(profiler, n, counters, now_ns());   // step_counters.h
//   if (gpu) gpu->flush();                                   // gpu_activity.h
//   every few steps: sessions.write(profiler.take());
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "profiler/event.h"

namespace kvwb {

inline constexpr int kMaxSpanArgs = 4;

class Profiler;
namespace detail {
// The thread's current profiler (constinit: read without a TLS init wrapper on the hot path).
extern constinit thread_local Profiler* current_profiler;
}  // namespace detail

// What a ScopedSpan hands to the profiler: fixed size, no allocation. `name` and arg keys are
// not copied until take(): they must outlive the Profiler (use string literals).
struct SpanRecord {
  struct RawArg {
    const char* key;
    int64_t value;
  };
  const char* name;
  Category category;
  uint8_t num_args;
  int64_t start_ns;
  int64_t end_ns;
  int64_t step;
  RawArg args[kMaxSpanArgs];
};

// Implemented by a GPU activity collector (gpu_activity.h): told when an op span opens and
// closes on the calling thread, so GPU work launched inside it is attributed to that op.
class CorrelationHook {
 public:
  virtual ~CorrelationHook() = default;
  virtual void enter(uint64_t op_id, const char* name, int64_t step) = 0;
  virtual void exit(uint64_t op_id) = 0;
};

struct ProfilerOptions {
  bool enabled = true;
  // Events held at once (spans + counters + instants) until take(); beyond it they are dropped
  // and counted. A CPU span takes about 100 bytes, so the default bounds spans to ~100 MiB.
  int64_t max_events = int64_t{1} << 20;
  // Spans a thread's buffer holds before it grows, allocated and touched when the thread first
  // records (or names its track), so that steps do not pay for page faults and reallocation
  // (about 100 bytes each, twice: the buffer and its spare for take()).
  int64_t reserved_spans_per_thread = 8192;
};

class Profiler {
 public:
  explicit Profiler(ProfilerOptions options = {});
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool enabled) noexcept { enabled_.store(enabled, std::memory_order_relaxed); }
  // When the profiler was made (span clock, clock.h): exported times are relative to it.
  int64_t origin_ns() const noexcept { return origin_ns_; }

  // The engine step that spans, counters and instants are attributed to from now on.
  void set_step(int64_t step) noexcept { step_.store(step, std::memory_order_relaxed); }
  int64_t step() const noexcept { return step_.load(std::memory_order_relaxed); }

  // The hot path, used by ScopedSpan: appends to the calling thread's buffer.
  void record_span(const SpanRecord& record);

  // Slower paths (they copy strings); callable from any thread.
  void add_span(Span span);  // a complete span recorded elsewhere (GPU activity)
  void add_instant(Instant instant);  // a complete instant recorded elsewhere
  void counter(std::string_view name, double value);  // at now, current step
  void counter(std::string_view name, double value, int64_t step, int64_t time_ns);
  // A moment on the calling thread's track, e.g. a config change (Category::config).
  void instant(std::string_view name, Category category, std::vector<Arg> args = {});
  // Names the calling thread's track in traces ("engine", "ui").
  void name_this_thread(std::string name);
  void name_track(const Track& track, std::string name);

  // Moves out every event recorded so far (all threads), freeing their room under the cap.
  // Its dropped_events counts the events dropped since the previous take().
  Trace take();
  // Events refused so far because the cap was reached.
  int64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

  // GPU correlation (installed by a GPU activity collector; null when none).
  void set_correlation_hook(CorrelationHook* hook) noexcept {
    hook_.store(hook, std::memory_order_release);
  }
  CorrelationHook* correlation_hook() const noexcept {
    return hook_.load(std::memory_order_acquire);
  }
  uint64_t next_op_id() noexcept { return next_op_id_.fetch_add(1, std::memory_order_relaxed); }

  // The calling thread's current profiler (CurrentProfiler), or null.
  static Profiler* current() noexcept { return detail::current_profiler; }

 private:
  struct ThreadBuffer;
  ThreadBuffer& this_thread_buffer();
  bool reserve_event() noexcept;  // false when the cap is reached (the event is counted dropped)

  const uint64_t id_;  // unique per Profiler, so a thread's cached buffer never outlives it
  const int64_t max_events_;
  const int64_t reserved_spans_;
  const int64_t origin_ns_;
  std::atomic<bool> enabled_;
  std::atomic<int64_t> step_{-1};
  std::atomic<int64_t> held_{0};
  std::atomic<int64_t> dropped_{0};
  std::atomic<uint64_t> next_op_id_{1};
  std::atomic<CorrelationHook*> hook_{nullptr};

  std::mutex registry_mutex_;
  std::vector<std::unique_ptr<ThreadBuffer>> buffers_;
  uint32_t next_thread_index_ = 1;

  std::mutex slow_mutex_;  // guards the events of the slower paths below
  std::vector<Span> added_spans_;
  std::vector<Counter> counters_;
  std::vector<Instant> instants_;
  std::vector<TrackName> track_names_;
  int64_t dropped_reported_ = 0;  // dropped() at the previous take()
};

// Binds a profiler as the calling thread's current one for a scope (null unbinds), restoring
// the previous binding at the end.
class CurrentProfiler {
 public:
  explicit CurrentProfiler(Profiler* profiler) noexcept;
  ~CurrentProfiler();
  CurrentProfiler(const CurrentProfiler&) = delete;
  CurrentProfiler& operator=(const CurrentProfiler&) = delete;

 private:
  Profiler* previous_;
};

}  // namespace kvwb
