#include "sessions/session_trace.h"

#include <algorithm>
#include <limits>

namespace kvwb {

Trace session_trace(const SessionEvents& events) {
  Trace t;
  int64_t origin = std::numeric_limits<int64_t>::max();
  for (const Span& s : events.spans) origin = std::min(origin, s.start_ns);
  for (const Instant& i : events.instants) origin = std::min(origin, i.time_ns);
  for (const Counter& c : events.counters) origin = std::min(origin, c.time_ns);
  t.origin_ns = origin == std::numeric_limits<int64_t>::max() ? 0 : origin;
  t.spans = events.spans;
  sort_spans(t.spans);  // stored in time order; the trace keeps them by track, parents first
  t.instants = events.instants;
  t.counters = events.counters;
  t.tracks = events.tracks;
  return t;
}

}  // namespace kvwb
