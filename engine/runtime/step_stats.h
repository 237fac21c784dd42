#pragma once
// What one engine step reports: the value observers, the profiler, sessions and the GUI read.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/runtime/policy.h"

namespace kvwb {

// Retained slots of one (sequence, layer, KV head) at the end of a step.
struct HeadRetention {
  std::string request_id;
  int32_t layer = 0;
  int32_t head = 0;
  int32_t length = 0;
  std::vector<int32_t> positions;  // original token positions, sorted
};

// Retained slots of every (layer, KV head) of one admitted sequence at the end of a step.
struct SequenceLengths {
  std::string request_id;
  std::vector<int32_t> lengths;  // [layer * kv_heads + head]
};

struct StepStats {
  int64_t step = 0;
  double start_seconds = 0;  // since the engine started
  double wall_seconds = 0;
  double forward_seconds = 0;   // the batched forward pass
  double eviction_seconds = 0;  // policy scoring, selection and compaction
  int64_t batch_size = 0;  // sequences that ran in this step
  int64_t running = 0;     // admitted after the step
  int64_t waiting = 0;     // queued after the step
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  // policy.chunk_guidance: guide tokens fed again after prefill chunks (extra prefill work, not
  // counted in prefill_tokens; their KV is dropped within the step).
  int64_t guide_tokens = 0;
  int64_t admitted = 0;
  int64_t finished = 0;
  int64_t preemptions = 0;
  int64_t evicted_slots = 0;
  int64_t blocks_freed_by_eviction = 0;
  int64_t blocks_used = 0;  // after the step
  int64_t blocks_free = 0;
  int64_t blocks_total = 0;
  int64_t peak_blocks_used = 0;  // highest usage inside the step (after appends, before eviction)
  int64_t kv_bytes_used = 0;   // blocks_used x bytes per block (K/V in the run's kv_dtype + slot metadata)
  int64_t kv_slots_used = 0;   // cached tokens after the step, counted once per (layer, KV head) holding them
  std::vector<int64_t> evictions_per_head;  // [layer * kv_heads + head] slots evicted this step
  std::vector<EvictionRecord> evictions;    // every decision on traced requests
  std::vector<SequenceLengths> retained;    // every step: each admitted sequence, before finished ones leave
  std::vector<HeadRetention> retention;     // positions too, when a snapshot was requested
};

}  // namespace kvwb
