#pragma once
// One configurable evicting policy; every named method is a set of traits (policies.cpp):
// what to score, which queries observe, when to evict, and how the budget is split over heads.
#include "engine/runtime/policies/selection.h"
#include "engine/runtime/policies/slot_selector.h"
#include "engine/runtime/policies/token_spans.h"
#include "engine/runtime/policy.h"

namespace kvwb {

enum class Observe : uint8_t {
  None,          // no statistics (StreamingLLM)
  All,           // every prompt and decode query (Batch-Max, decode-only, H2O)
  PromptWindow,  // the last `window` prompt queries (SnapKV family, KV-Compress)
  ChunkWindow,   // the last `window` queries of every prefill chunk (KV-Compress with chunked prefill)
};

enum class Allocation : uint8_t {
  UniformPerHead,  // every head keeps the budget
  PyramidPerLayer, // PyramidKV: per-layer budgets, uniform over the heads of a layer
  LayerWide,       // Ada-KV: heads of a layer share budget x heads, with a floor per head
  BlockGroups,     // KV-Compress: whole block-size groups ranked over all layers and heads
};

struct PolicyTraits {
  std::string name;
  ScoreKind score = ScoreKind::Average;
  PoolKind pool = PoolKind::None;
  int64_t default_pool_kernel = 1;
  Observe observe = Observe::All;
  bool observe_decode = false;        // decode queries add to the statistics too
  bool evict_during_prefill = false;  // after every prefill chunk (Batch-Max's idea)
  bool evict_during_decode = false;   // every decode_interval decode steps
  bool window_protected = false;      // the observation window is never evicted (SnapKV)
  Allocation allocation = Allocation::UniformPerHead;
};

// What a policy of these traits protects under `config` (protected_span() of policy.h).
ProtectedSpan protected_span_of(const PolicyTraits& traits, const PolicyConfig& config);

class ScoredPolicy final : public CompressionPolicy {
 public:
  ScoredPolicy(PolicyTraits traits, PolicyConfig config);

  std::string name() const override { return traits_.name; }
  int64_t peak_blocks(int64_t prompt_tokens, int64_t max_new_tokens, const KvCacheShape& shape,
                      int64_t prefill_chunk) const override;
  bool observe(const SequenceState& seq, int64_t i, int64_t chunk_begin, int64_t chunk_end) const override;
  ChunkGuide chunk_guide(const SequenceState& seq, int64_t chunk_begin, int64_t chunk_end) const override;
  EvictionStats after_append(SequenceState& seq, KvCache& cache, const AppendContext& context) override;
  EvictionStats enforce_budget(SequenceState& seq, KvCache& cache, const AppendContext& context) override;

  // Tokens each head may keep for a prompt of this length (before protection).
  int64_t budget_per_head(int64_t prompt_tokens) const;

 private:
  int64_t protected_recent() const;
  int64_t peak_tokens_per_head(int64_t prompt, int64_t new_tokens, int64_t budget, int64_t chunk) const;
  EvictionStats compress(SequenceState& seq, KvCache& cache, const AppendContext& context);
  static void record_eviction(const SequenceState& seq, const KvCache& cache, const SlotSelector& selector,
                              const AppendContext& context, int64_t layer, int64_t head,
                              const std::vector<int64_t>& victims);

  PolicyTraits traits_;
  PolicyConfig config_;
  int64_t pool_kernel_;
  SpanKind span_;
  bool question_guided_;  // policy.chunk_guidance == question, and the policy scores between chunks
};

}  // namespace kvwb
