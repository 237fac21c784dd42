#include "run/run_counters.h"

namespace kvwb {

StepCounters counters_of_step(const StepStats& stats, std::span<const int32_t> retained_lengths) {
  StepCounters c;
  c.batch_size = stats.batch_size;
  c.running = stats.running;
  c.waiting = stats.waiting;
  const int64_t tokens = stats.prefill_tokens + stats.decode_tokens;
  c.tokens_per_second = stats.wall_seconds > 0 ? static_cast<double>(tokens) / stats.wall_seconds : 0.0;
  c.kv_blocks_used = stats.blocks_used;
  c.kv_blocks_free = stats.blocks_free;
  c.kv_bytes = stats.kv_bytes_used;
  c.evictions = stats.evicted_slots;
  c.preemptions = stats.preemptions;
  if (!retained_lengths.empty()) c.retained = summarize_retained(retained_lengths);
  return c;
}

}  // namespace kvwb
