// llama.cpp's llama-server: KV cache types (-ctk/-ctv take kvwb's dtype names one to one: both
// store q8_0/q4_0 as GGUF blocks), batch and context flags where they map (docs/config-export.md).
#include <fmt/format.h>

#include "sessions/config_export.h"

namespace kvwb {

ServingFlags llama_cpp_flags(const RunConfig& c) {
  ServingFlags b;
  b.flag("-m", c.model);
  if (c.model == "demo" || c.model == "smollm2") {
    b.warn("model={}: a kvwb shorthand; give llama.cpp the model's GGUF file", c.model);
  } else if (c.model.size() < 5 || c.model.substr(c.model.size() - 5) != ".gguf") {
    b.warn("model={}: llama.cpp reads GGUF files; convert a Hugging Face directory with convert_hf_to_gguf.py",
           c.model);
  }
  // Every layer on the GPU for cuda, none for cpu.
  b.flag("-ngl", c.backend == "cuda" ? "999" : "0");
  if (c.weights_dtype != "stored") {
    b.warn("weights_dtype={}: no counterpart (llama.cpp computes with the GGUF file's types; convert with --outtype)",
           c.weights_dtype);
  }
  b.flag("-ctk", c.kv_dtype);  // kvwb's KV dtypes are a subset of llama.cpp's cache types
  b.flag("-ctv", c.kv_dtype);
  if (c.kv_dtype == "q8_0" || c.kv_dtype == "q4_0") {
    b.warn("kv_dtype={}: llama.cpp quantizes the V cache only with flash attention (-fa; 'auto', the default in recent "
           "versions, turns it on where supported)",
           c.kv_dtype);
    if (c.kv_rotation == "hadamard") {
      b.warn("kv_rotation=hadamard: no counterpart (llama.cpp rounds K and V rows as they are, as kvwb's "
             "kv_rotation=none does: expect that setting's fidelity)");
    }
  }
  if (c.kv_pool_bytes) {
    b.warn("kv_pool_bytes={}: no counterpart (llama.cpp sizes the cache in tokens with -c, shared by the -np slots; "
           "kvwb-cli run reports the pool's tokens: give that number)",
           format_bytes(*c.kv_pool_bytes));
  } else {
    b.warn("kv_pool_bytes=auto: no counterpart (llama.cpp sizes the cache in tokens with -c)");
  }
  b.warn("block_size={}: no counterpart (llama.cpp's KV cache is not paged in blocks)", c.block_size);
  b.flag("-np", std::to_string(c.max_batch));  // parallel sequences: slots of the server
  b.flag("-b", std::to_string(c.max_tokens_per_step));  // logical batch: tokens per decode call
  b.flag("-ub", std::to_string(c.prefill_chunk));       // physical batch: a prompt goes in chunks of this
  if (c.prefill_chunk > c.max_tokens_per_step) {
    b.warn("prefill_chunk={} > max_tokens_per_step={}: llama.cpp caps -ub at -b", c.prefill_chunk,
           c.max_tokens_per_step);
  }
  if (c.policy.name != "full") {
    b.warn("policy.name={}: no counterpart (llama.cpp keeps the whole KV cache; a full cache shifts out the oldest "
           "tokens only with --context-shift)",
           c.policy.name);
  }
  if (c.threads > 0) b.flag("-t", std::to_string(c.threads));  // 0: all cores, llama.cpp's default too
  if (c.weights_cache_bytes != RunConfig{}.weights_cache_bytes) {
    b.warn("weights_cache_bytes={}: no counterpart (llama.cpp converts quantized weights on the fly)",
           c.weights_cache_bytes);
  }
  b.flag("--seed", std::to_string(c.sampling.seed));
  b.flag("--temp", fmt::format("{}", c.sampling.temperature));  // the server's defaults for requests
  b.flag("--top-p", fmt::format("{}", c.sampling.top_p));
  client_side_warnings(c, b.warnings);
  return b;
}

}  // namespace kvwb
