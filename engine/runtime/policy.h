#pragma once
// A compression policy decides which cached KV slots to evict, and tells the scheduler how
// many blocks a request can occupy at its peak (that is how compression becomes batch size).
// The cache does the eviction and compaction. `full` keeps everything.
#include <cstdint>
#include <memory>

#include "engine/config/run_config.h"
#include "engine/runtime/kv_cache.h"
#include "engine/runtime/sequence.h"

namespace kvwb {

struct EvictionStats {
  int64_t evicted_slots = 0;
  int64_t freed_blocks = 0;
};

class CompressionPolicy {
 public:
  virtual ~CompressionPolicy() = default;
  virtual std::string name() const = 0;

  // Peak blocks (over all layers and KV heads) the request occupies under this policy.
  virtual int64_t peak_blocks(int64_t prompt_tokens, int64_t max_new_tokens, const KvCacheShape& shape,
                              int64_t prefill_chunk) const = 0;
  // Whether the query at context index `i` of `seq` (being computed this step) should add its
  // attention to the slots' statistics.
  virtual bool observe(const SequenceState& seq, int64_t i) const { return false; }
  // Called after a step that appended `appended` tokens of `seq` to the cache; evicts as the
  // policy wants. `prefill_done` tells whether the whole context is now in the cache.
  virtual EvictionStats after_append(SequenceState& seq, KvCache& cache, int64_t appended, bool prefill_done) {
    return {};
  }
};

// Blocks needed to hold `tokens` slots in every (layer, KV head).
int64_t blocks_for_tokens(int64_t tokens, const KvCacheShape& shape);

// Builds the policy named in the config (errors name the policy).
std::unique_ptr<CompressionPolicy> make_policy(const PolicyConfig& config);

}  // namespace kvwb
