#pragma once
// The counters sampled once per engine step, under fixed names (counter tracks in traces, series
// in sessions). The engine (or run/) fills StepCounters from its own step statistics; the
// profiler knows nothing of the engine.
#include <cstdint>
#include <optional>
#include <span>

#include "profiler/profiler.h"

namespace kvwb {

namespace counter_names {
inline constexpr const char* batch_size = "batch_size";
inline constexpr const char* running = "running_requests";
inline constexpr const char* waiting = "waiting_requests";
inline constexpr const char* tokens_per_second = "tokens_per_second";
inline constexpr const char* kv_blocks_used = "kv_blocks_used";
inline constexpr const char* kv_blocks_free = "kv_blocks_free";
inline constexpr const char* kv_bytes = "kv_bytes";
inline constexpr const char* evictions = "evictions";
inline constexpr const char* preemptions = "preemptions";
inline constexpr const char* retained_tokens_min = "retained_tokens_min";
inline constexpr const char* retained_tokens_mean = "retained_tokens_mean";
inline constexpr const char* retained_tokens_max = "retained_tokens_max";
inline constexpr const char* process_rss_bytes = "process_rss_bytes";
inline constexpr const char* gpu_memory_used_bytes = "gpu_memory_used_bytes";
}  // namespace counter_names

// Retained tokens per (sequence, layer, KV head), summarised over all heads of the step.
struct RetainedTokens {
  double min = 0;
  double mean = 0;
  double max = 0;
};

// min / mean / max of per-head retained lengths; all zero for no heads.
RetainedTokens summarize_retained(std::span<const int32_t> lengths_per_head);

struct StepCounters {
  int64_t batch_size = 0;
  int64_t running = 0;
  int64_t waiting = 0;
  double tokens_per_second = 0;
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_free = 0;
  int64_t kv_bytes = 0;
  int64_t evictions = 0;    // slots evicted in this step
  int64_t preemptions = 0;  // requests preempted in this step
  std::optional<RetainedTokens> retained;              // omitted when not summarised
  std::optional<int64_t> process_rss_bytes;            // sampled by record_step_counters if empty
  std::optional<int64_t> gpu_memory_used_bytes;        // omitted off the GPU
};

// Records every counter of `counters` at `time_ns` under counter_names, attributed to `step`.
// An empty process_rss_bytes is filled from /proc/self/statm (omitted if unreadable).
void record_step_counters(Profiler& profiler, int64_t step, const StepCounters& counters,
                          int64_t time_ns);

// Resident set size of this process (/proc/self/statm, second field × page size), or
// std::nullopt where that file cannot be read (not Linux).
std::optional<int64_t> process_rss_bytes();

}  // namespace kvwb
