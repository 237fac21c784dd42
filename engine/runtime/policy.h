#pragma once
// A compression policy decides which cached KV slots to evict, and tells the scheduler how
// many blocks a request can occupy at its peak (that is how compression becomes batch size).
// The cache does the eviction and compaction, so freed blocks return to the pool at once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/run_config.h"
#include "engine/runtime/kv_cache.h"
#include "engine/runtime/sequence.h"

namespace kvwb {

// One eviction decision of one (sequence, layer, head): what went, and the scores that decided.
struct EvictionRecord {
  std::string request_id;
  int64_t step = 0;
  int32_t layer = 0;
  int32_t head = 0;
  std::vector<int32_t> positions;  // evicted original positions
  std::vector<float> scores;       // their scores (same order)
  float threshold = 0;             // lowest score among the slots kept (inf when none is scored)
};

struct EvictionStats {
  int64_t evicted_slots = 0;
  int64_t freed_blocks = 0;
  std::vector<int64_t> per_head;  // [layer * kv_heads + head] slots evicted
};

// What the engine hands a policy after appending a sequence's tokens.
struct AppendContext {
  int64_t appended = 0;       // tokens appended this step
  bool prefill_done = false;  // the whole context is now in the cache
  bool in_prefill = false;    // the tokens were prompt (context) tokens, not a decode token
  int64_t step = 0;
  std::vector<EvictionRecord>* trace = nullptr;  // non-null: record every decision here
};

// policy.chunk_guidance: the context range [begin, end) whose queries score a prefill chunk for
// the eviction that follows it (Finch): the request's question, or the prompt's last `window`
// tokens. `copied`: the range is not inside the chunk, so the engine feeds its tokens again
// right after the chunk (at the positions that follow it), as observing queries, and drops
// their KV before the policy evicts. Not copied: the chunk's own guide tokens observe.
struct ChunkGuide {
  int64_t begin = 0;
  int64_t end = 0;
  bool copied = false;
  int64_t copies() const { return copied ? end - begin : 0; }
};

class CompressionPolicy {
 public:
  virtual ~CompressionPolicy() = default;
  virtual std::string name() const = 0;

  // Peak blocks (over all layers and KV heads) the request occupies under this policy.
  virtual int64_t peak_blocks(int64_t prompt_tokens, int64_t max_new_tokens, const KvCacheShape& shape,
                              int64_t prefill_chunk) const = 0;
  // Whether the query at context index i (fed this step in [chunk_begin, chunk_end)) adds its
  // attention to the statistics of the slots it sees.
  virtual bool observe(const SequenceState& seq, int64_t i, int64_t chunk_begin, int64_t chunk_end) const {
    return false;
  }
  // The guide of the prefill chunk [chunk_begin, chunk_end) of `seq` (empty: the chunk is not
  // guided, its queries observe as observe() says).
  virtual ChunkGuide chunk_guide(const SequenceState& seq, int64_t chunk_begin, int64_t chunk_end) const { return {}; }
  // Evicts as the policy wants after the engine appended tokens of `seq`.
  virtual EvictionStats after_append(SequenceState& seq, KvCache& cache, const AppendContext& context) { return {}; }
  // After a config update: evicts `seq` down to the (new) budget now, if the policy evicts in
  // the sequence's phase at all (a prompt that a policy caches whole is left to finish).
  virtual EvictionStats enforce_budget(SequenceState& seq, KvCache& cache, const AppendContext& context) { return {}; }
};

// The slots a policy never evicts, by position: the first `sinks` and the last `recent` of the
// context when it compresses (nothing for `full`, which never evicts). The scored policies
// protect exactly these (scored_policy.cpp); the workbench marks them in its eviction maps.
struct ProtectedSpan {
  int64_t sinks = 0;
  int64_t recent = 0;
  bool protects(int64_t position, int64_t context_length) const {
    return position < sinks || position >= context_length - recent;
  }
};
ProtectedSpan protected_span(const PolicyConfig& config);

// Blocks needed to hold `tokens` slots in every (layer, KV head).
int64_t blocks_for_tokens(int64_t tokens, const KvCacheShape& shape);

// Builds the policy named in the config (errors name the key).
std::unique_ptr<CompressionPolicy> make_policy(const PolicyConfig& config);

}  // namespace kvwb
