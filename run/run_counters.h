#pragma once
// The profiler's per-step counters (profiler/step_counters.h) from the engine's own step
// statistics, so that counter tracks in a trace show exactly what StepStats reported.
#include <cstdint>
#include <span>

#include "engine/runtime/step_stats.h"
#include "profiler/step_counters.h"

namespace kvwb {

// batch size, running/waiting, KV blocks used/free, KV bytes, evictions and preemptions are
// copied from `stats`; tokens_per_second = (prefill + decode tokens) / wall_seconds of the step
// (0 for an empty or untimed step); `retained_lengths` (per admitted sequence, layer and KV
// head: StepStats::retained) gives the retained-tokens summary, omitted when empty. RSS and GPU
// memory are left for the caller (record_step_counters samples RSS itself).
StepCounters counters_of_step(const StepStats& stats, std::span<const int32_t> retained_lengths);

}  // namespace kvwb
