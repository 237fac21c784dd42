// The `full` policy: no eviction; a request's peak is its whole context.
#include "engine/core/error.h"
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

}  // namespace

int64_t blocks_for_tokens(int64_t tokens, const KvCacheShape& shape) {
  return shape.num_layers * shape.num_kv_heads * ((tokens + shape.block_size - 1) / shape.block_size);
}

std::unique_ptr<CompressionPolicy> make_policy(const PolicyConfig& config) {
  if (config.name == "full") return std::make_unique<FullPolicy>();
  fail("policy.name", "policy '{}' is not implemented yet", config.name);
}

}  // namespace kvwb
