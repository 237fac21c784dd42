#pragma once
// Shared by the golden tests (HF fixtures, GGUF fixtures, SmolLM2): the logits a model gives
// at every prompt position, and the exactness rule (docs/architecture.md, "Invariants") for greedy continuations.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/runtime/forward.h"
#include "engine/runtime/kv_cache.h"

namespace kvwb::testing_support {

// Runs `prompt` through a fresh f32 cache (its rows rotated when `kv_rotated`) in chunks of
// `chunk` tokens; logits at every position.
inline std::vector<float> all_logits(const Model& model, kernels::Backend& backend, const std::vector<int32_t>& prompt,
                                     int64_t chunk, int64_t block_size, bool kv_rotated = false) {
  const ModelConfig& c = model.config;
  KvCacheShape shape{c.num_layers, c.num_kv_heads, c.head_dim, block_size,
                     c.num_layers * c.num_kv_heads * (static_cast<int64_t>(prompt.size()) / block_size + 1)};
  shape.kv_rotated = kv_rotated;
  KvCache cache(backend, shape);
  Forward forward(model, backend);
  const int32_t seq = cache.add_sequence();
  std::vector<float> out, logits;
  ForwardBatch batch;
  for (size_t begin = 0; begin < prompt.size(); begin += static_cast<size_t>(chunk)) {
    batch.clear();
    for (size_t i = begin; i < std::min(prompt.size(), begin + static_cast<size_t>(chunk)); ++i) {
      batch.add(seq, prompt[i], static_cast<int32_t>(i), true);
    }
    forward.run(batch, cache, logits);
    out.insert(out.end(), logits.begin(), logits.end());
  }
  return out;
}

// Greedy tokens must equal the reference's; the first difference is allowed only where the
// reference's top-2 margin was a near tie, and nothing after it compares. Returns the number
// of tokens compared.
inline size_t expect_greedy_matches(const std::vector<int32_t>& got, const std::vector<int32_t>& want,
                                    const std::vector<double>& margins, double near_tie, const std::string& label) {
  EXPECT_EQ(got.size(), want.size()) << label;
  const size_t n = std::min(got.size(), want.size());
  for (size_t k = 0; k < n; ++k) {
    if (got[k] == want[k]) continue;
    EXPECT_LT(margins.at(k), near_tie) << label << " step " << k;
    return k + 1;
  }
  return n;
}

}  // namespace kvwb::testing_support
