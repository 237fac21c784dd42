#pragma once
// Engine options the eviction tests share: small blocks and chunks, so a ~60-token prompt spans
// many of both, and a pool far above any need, so what is evicted is the policy's choice.
#include <cstdint>
#include <string>

#include "engine/runtime/engine.h"

namespace kvwb::testing_support {

inline EngineOptions small_block_options(const std::string& policy, int64_t budget_tokens) {
  EngineOptions o;
  o.block_size = 4;
  o.prefill_chunk = 16;
  o.num_blocks = 400;
  o.policy.name = policy;
  o.policy.budget_tokens = budget_tokens;
  return o;
}

}  // namespace kvwb::testing_support
