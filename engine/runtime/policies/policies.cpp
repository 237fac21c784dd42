// The named policies of the registry (engine/config/policy_names.h): `full`, and the evicting
// ones as traits of ScoredPolicy. docs/policies.md gives each rule's source and the choices made
// where a paper is silent.
#include "engine/config/policy_names.h"
#include "engine/core/error.h"
#include "engine/runtime/policies/policy_reads.h"
#include "engine/runtime/policies/scored_policy.h"
#include "engine/runtime/policy.h"

namespace kvwb {
namespace {

class FullPolicy final : public CompressionPolicy {
 public:
  std::string name() const override { return "full"; }
  int64_t peak_blocks(int64_t prompt_tokens, int64_t max_new_tokens, const KvCacheShape& shape,
                      int64_t /*prefill_chunk*/) const override {
    return blocks_for_tokens(prompt_tokens + max_new_tokens, shape);
  }
};

ScoreKind kv_compress_metric(const std::string& metric) {
  if (metric == "l1-sum") return ScoreKind::L1Sum;
  if (metric == "l1-avg") return ScoreKind::L1Avg;
  if (metric == "l2-avg") return ScoreKind::L2Avg;
  return ScoreKind::L2Sum;
}

PolicyTraits traits_for(const PolicyConfig& c) {
  PolicyTraits t;
  t.name = c.name;
  const bool per_head = c.budget_scope == "head";
  if (c.name == "decode-only") {
    // The Batch-Max paper's baseline: the whole prompt is cached, then compressed; decode evicts.
    t.score = ScoreKind::Average;
    t.observe = Observe::All;
    t.observe_decode = true;
    t.evict_during_decode = true;
    t.allocation = per_head ? Allocation::BlockGroups : Allocation::UniformPerHead;
  } else if (c.name == "batch-max") {
    // Evict after every prefill chunk by average attention, so a request never holds more than
    // its budget plus one chunk; keep evicting during decode.
    t.score = ScoreKind::Average;
    t.observe = Observe::All;
    t.observe_decode = true;
    t.evict_during_prefill = true;
    t.evict_during_decode = true;
    t.allocation = per_head ? Allocation::BlockGroups : Allocation::UniformPerHead;
  } else if (c.name == "kv-compress") {
    // Metric of the last `window` prompt queries (and every decode query), evicting whole block
    // groups ranked over all layers and heads, so heads keep different numbers of slots.
    t.score = kv_compress_metric(c.metric);
    t.pool = PoolKind::Max;
    t.observe = c.chunked_prefill ? Observe::ChunkWindow : Observe::PromptWindow;
    t.observe_decode = true;
    t.evict_during_prefill = c.chunked_prefill;
    t.evict_during_decode = true;
    t.allocation = Allocation::BlockGroups;
  } else if (c.name == "streaming-llm") {
    t.score = ScoreKind::Recency;
    t.observe = Observe::None;
    t.evict_during_prefill = true;
    t.evict_during_decode = true;
  } else if (c.name == "h2o") {
    t.score = ScoreKind::Sum;
    t.observe = Observe::All;
    t.observe_decode = true;
    t.evict_during_decode = true;
    t.allocation = per_head ? Allocation::BlockGroups : Allocation::UniformPerHead;
  } else if (c.name == "snapkv" || c.name == "pyramidkv" || c.name == "ada-kv") {
    t.score = ScoreKind::Sum;
    t.pool = PoolKind::Avg;
    t.default_pool_kernel = 5;
    t.observe = Observe::PromptWindow;
    t.window_protected = true;
    t.allocation = c.name == "pyramidkv" ? Allocation::PyramidPerLayer
                   : c.name == "ada-kv"  ? Allocation::LayerWide
                                         : Allocation::UniformPerHead;
  } else {
    fail("policy.name", "unknown policy '{}'", c.name);
  }
  return t;
}

}  // namespace

int64_t blocks_for_tokens(int64_t tokens, const KvCacheShape& shape) {
  return shape.num_layers * shape.num_kv_heads * ((tokens + shape.block_size - 1) / shape.block_size);
}

ProtectedSpan protected_span(const PolicyConfig& config) {
  if (config.name == "full") return {};
  return protected_span_of(traits_for(config), config);
}

bool policy_reads(const PolicyConfig& config, std::string_view key) {
  if (config.name == "full") return false;
  const PolicyTraits t = traits_for(config);
  if (key == "policy.pool_kernel") return t.pool != PoolKind::None;
  if (key == "policy.window") {
    // chunk_guide() scores with the prompt's last window when a request has no question.
    const bool guided = config.chunk_guidance == "question" && guidable_between_chunks(config);
    return t.observe == Observe::PromptWindow || t.observe == Observe::ChunkWindow || t.window_protected || guided;
  }
  if (key == "policy.min_head_fraction") return t.allocation == Allocation::LayerWide;
  if (key == "policy.pyramid_beta") return t.allocation == Allocation::PyramidPerLayer;
  if (key == "policy.decode_interval") return t.evict_during_decode;
  if (key == "policy.chunk_guidance") return guidable_between_chunks(config);
  return true;
}

std::unique_ptr<CompressionPolicy> make_policy(const PolicyConfig& config) {
  if (config.name == "full") return std::make_unique<FullPolicy>();
  return std::make_unique<ScoredPolicy>(traits_for(config), config);
}

}  // namespace kvwb
