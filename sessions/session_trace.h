#pragma once
// A session's stored profiler events as a profiler Trace, so the profiler's own exporter
// (chrome_trace.h) and summary (op_summary.h) read a recorded run as they read a live one.
// The origin is the earliest stored event (the recording keeps no profiler start time).
#include "profiler/event.h"
#include "sessions/session_types.h"

namespace kvwb {

Trace session_trace(const SessionEvents& events);

}  // namespace kvwb
