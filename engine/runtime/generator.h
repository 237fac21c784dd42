#pragma once
// Single-sequence generation: chunked prefill of a prompt, then decode token by token with
// greedy or temperature/top-p sampling from a seeded generator. Used by `kvwb-cli generate`
// and as the reference that batched runs are compared to.
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "engine/model/model.h"
#include "kernels/backend.h"

namespace kvwb {

struct GenerationOptions {
  int64_t max_new_tokens = 64;
  float temperature = 0.0f;  // 0 = greedy
  float top_p = 1.0f;
  uint64_t seed = 0;
  int64_t prefill_chunk = 128;
  int64_t block_size = 16;
  bool stop_at_eos = true;
};

struct GenerationResult {
  std::vector<int32_t> tokens;        // generated ids (EOS included when it stopped there)
  std::vector<float> first_logits;    // next-token logits after the prompt
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  int64_t prompt_tokens = 0;
  bool stopped_at_eos = false;
};

// Deterministic uniform numbers in [0, 1) from a seed (same on every platform and backend).
class SamplerRng {
 public:
  explicit SamplerRng(uint64_t seed) : engine_(seed) {}
  float next() { return static_cast<float>(engine_() >> 40) * 0x1p-24f; }

 private:
  std::mt19937_64 engine_;
};

// on_token(id) is called for every generated token as soon as it is known.
GenerationResult generate(const Model& model, kernels::Backend& backend, std::span<const int32_t> prompt,
                          const GenerationOptions& options,
                          const std::function<void(int32_t)>& on_token = {});

}  // namespace kvwb
