#pragma once
// Chrome trace JSON (the "Trace Event Format"), which ui.perfetto.dev and chrome://tracing open:
//   spans    -> "X" complete events (ts, dur in microseconds since Trace::origin_ns),
//               args = the span's args plus "step"
//   counters -> "C" events, one counter track per name, series "value"
//   instants -> "i" events (config changes are global, scope "g"; others on their thread, "t")
//   tracks   -> "M" process_name / thread_name metadata. The CPU is process 1 (tid = the
//               profiler's thread index); GPU device d is process 2 + d (tid = CUPTI stream id).
// The top level is {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}} with the
// dropped event count and the origin in otherData.
#include <string>

#include <nlohmann/json.hpp>

#include "profiler/event.h"

namespace kvwb {

// Process id of a track in the exported trace (1 for CPU threads, 2 + device for GPU streams).
int chrome_trace_pid(const Track& track);

nlohmann::json chrome_trace_json(const Trace& trace);

// Writes chrome_trace_json(trace) to `path`. Throws kvwb::Error "<path>: <problem>" when the
// file cannot be created or written.
void write_chrome_trace(const Trace& trace, const std::string& path);

}  // namespace kvwb
