#include "engine/runtime/generator.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/runtime/forward.h"
#include "engine/runtime/kv_cache.h"
#include "profiler/clock.h"

namespace kvwb {

GenerationResult generate(const Model& model, kernels::Backend& backend, std::span<const int32_t> prompt,
                          const GenerationOptions& options, const std::function<void(int32_t)>& on_token) {
  const ModelConfig& c = model.config;
  if (prompt.empty()) fail("generate", "the prompt is empty (no tokens)");
  if (options.prefill_chunk <= 0) fail("prefill_chunk", "must be positive, got {}", options.prefill_chunk);
  for (int32_t id : prompt) {
    if (id < 0 || id >= c.vocab_size) fail("generate", "prompt token {} is outside the vocabulary of {}", id, c.vocab_size);
  }
  const int64_t context = static_cast<int64_t>(prompt.size()) + options.max_new_tokens;
  KvCacheShape shape;
  shape.num_layers = c.num_layers;
  shape.num_kv_heads = c.num_kv_heads;
  shape.head_dim = c.head_dim;
  shape.block_size = options.block_size;
  shape.num_blocks = c.num_layers * c.num_kv_heads * ((context + options.block_size - 1) / options.block_size);
  KvCache cache(backend, shape);
  Forward forward(model, backend);
  const int32_t seq = cache.add_sequence();

  GenerationResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  ForwardBatch batch;
  std::vector<float> logits;
  double start = now_seconds();
  for (size_t begin = 0; begin < prompt.size(); begin += static_cast<size_t>(options.prefill_chunk)) {
    const size_t end = std::min(prompt.size(), begin + static_cast<size_t>(options.prefill_chunk));
    batch.clear();
    for (size_t i = begin; i < end; ++i) {
      batch.add(seq, prompt[i], static_cast<int32_t>(i), i + 1 == prompt.size());
    }
    forward.run(batch, cache, logits);
  }
  // The prompt's logits come to the host once: callers read them (first_logits). The sampler
  // reads them where they are, like every later step's.
  result.first_logits = logits;
  const float* logits_at = forward.logits();
  result.prefill_seconds = now_seconds() - start;

  SamplerRng rng(options.seed);
  const kernels::SamplingParams params{options.temperature, options.top_p};
  const std::vector<int32_t>& eos = model.tokenizer ? model.tokenizer->eos_ids() : c.eos_token_ids;
  start = now_seconds();
  int32_t position = static_cast<int32_t>(prompt.size());
  for (int64_t n = 0; n < options.max_new_tokens; ++n) {
    const int32_t next = backend.sample(logits_at, c.vocab_size, params, rng.next());
    result.tokens.push_back(next);
    if (on_token) on_token(next);
    if (options.stop_at_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) {
      result.stopped_at_eos = true;
      break;
    }
    if (n + 1 == options.max_new_tokens) break;
    batch.clear();
    batch.add(seq, next, position++, true);
    forward.run(batch, cache);  // decode: logits stay on the backend, sampled there
    logits_at = forward.logits();
  }
  result.decode_seconds = now_seconds() - start;
  return result;
}

}  // namespace kvwb
