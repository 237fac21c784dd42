#pragma once
// The one event schema of the profiler, shared by CPU timers and GPU (CUPTI) activity:
// spans (something with a start and an end on a track), counters (a sampled value) and instants
// (something that happened at a moment, e.g. a config change). All times are nanoseconds on one
// clock, the span clock of clock.h (steady_clock); GPU timestamps are converted to it.
// These are plain values: sessions, the GUI and the trace exporter read them without the
// Profiler that recorded them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kvwb {

enum class Category : uint8_t {
  step,        // one engine step
  op,          // one backend op as seen from the CPU (launch + host work)
  kernel,      // a GPU kernel (CUPTI)
  memcpy,      // a GPU copy (CUPTI)
  memset,      // a GPU memset (CUPTI)
  memory,      // a GPU allocation or release (CUPTI MEMORY2), as instants
  policy,      // compression policy scoring
  compaction,  // KV-cache compaction
  scheduler,   // admission, preemption
  sessions,    // session database writes
  config,      // config changes applied between steps, as instants
};

// "step", "op", ... (the names used in traces and summaries).
std::string_view category_name(Category category);
// The inverse of category_name; empty when `name` is not a category.
std::optional<Category> parse_category(std::string_view name);

// Where an event happened: a CPU thread (id = the profiler's small thread index, 1, 2, ...)
// or a GPU stream (device = CUDA device ordinal, id = CUPTI stream id).
struct Track {
  enum class Kind : uint8_t { cpu_thread, gpu_stream };
  Kind kind = Kind::cpu_thread;
  uint32_t device = 0;
  uint32_t id = 0;

  friend bool operator==(const Track&, const Track&) = default;
  friend auto operator<=>(const Track&, const Track&) = default;
};

using ArgValue = std::variant<int64_t, double, std::string>;

// An optional detail of an event: bytes, a shape dimension, the op that launched a kernel.
struct Arg {
  std::string key;
  ArgValue value;

  friend bool operator==(const Arg&, const Arg&) = default;
};

struct Span {
  std::string name;
  Category category = Category::op;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  Track track;
  int64_t step = -1;  // engine step that was current when the span began; -1 before the first
  std::vector<Arg> args;

  int64_t duration_ns() const { return end_ns - start_ns; }
  // The value of args[key], if present.
  const ArgValue* arg(std::string_view key) const;
};

struct Counter {
  std::string name;
  double value = 0;
  int64_t step = -1;
  int64_t time_ns = 0;
};

struct Instant {
  std::string name;
  Category category = Category::config;
  int64_t time_ns = 0;
  Track track;
  int64_t step = -1;
  std::vector<Arg> args;
};

struct TrackName {
  Track track;
  std::string name;
};

// Everything a Profiler recorded between two Profiler::take() calls (or several such batches
// appended together). Spans are sorted by track, then start time, parents before children.
struct Trace {
  int64_t origin_ns = 0;  // the profiler's start: exported timestamps are relative to it
  std::vector<Span> spans;
  std::vector<Counter> counters;
  std::vector<Instant> instants;
  std::vector<TrackName> tracks;  // names of the tracks seen so far
  int64_t dropped_events = 0;     // events refused because the profiler's cap was reached

  // Appends a later batch of the same profiler (keeps this origin, merges track names and
  // keeps spans in order). An empty trace takes the later batch's origin.
  void append(Trace&& later);
  // The name recorded for `track`, or a default ("thread 3", "GPU 0 stream 7").
  std::string track_name(const Track& track) const;
};

// Batches of one profiler, in the order they were taken, as one trace. The spans are sorted
// once at the end (appending batch after batch would merge the whole trace every time).
Trace concat_traces(std::vector<Trace>&& batches);

// The order of Trace::spans: by track, then start, longest first, so that a parent precedes
// the spans it contains.
bool span_order(const Span& a, const Span& b);
void sort_spans(std::vector<Span>& spans);

}  // namespace kvwb
