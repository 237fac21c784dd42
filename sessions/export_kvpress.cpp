// NVIDIA kvpress: the nearest press class to each kvwb policy, as Python (docs/config-export.md).
// kvpress compresses the prompt's KV once after prefill, keeping the fraction 1 - compression_ratio;
// kvwb's budget_ratio is the fraction kept.
#include <fmt/format.h>

#include "engine/config/policy_names.h"
#include "sessions/config_export.h"

namespace kvwb {
namespace {

// The compression_ratio argument: from budget_ratio exactly; from budget_tokens only per prompt,
// so the line computes it from a `context_length` the caller sets.
std::string compression_ratio(const PolicyConfig& p, TargetExport& out) {
  if (p.budget_ratio) return fmt::format("{:.12g}", 1.0 - *p.budget_ratio);  // 1 - 0.3: 0.7, not 0.7000000000000001
  if (p.budget_tokens) {
    out.warnings.push_back(fmt::format(
        "policy.budget_tokens={}: kvpress presses take the fraction of the prompt removed; the line computes it as "
        "max(0.0, 1 - {} / context_length): set context_length to the prompt's length in tokens",
        *p.budget_tokens, *p.budget_tokens));
    return fmt::format("max(0.0, 1 - {} / context_length)", *p.budget_tokens);
  }
  return "0.0";
}

// SnapKV's arguments: the observation window and the pooling width (0: the policy's own 5).
std::string snapkv_args(const PolicyConfig& p, const std::string& ratio) {
  return fmt::format("compression_ratio={}, window_size={}, kernel_size={}", ratio, p.window,
                     p.pool_kernel > 0 ? p.pool_kernel : 5);
}

// policy.span: no press keeps word or line spans. ChunkKVPress, the nearest, keeps whole chunks of
// a fixed length (ranked by their mean score, the same for every head) and wraps only a press that
// scores tokens one by one (a ScorerPress), which the per-layer and per-head presses are not.
void span_press(const PolicyConfig& p, std::string& cls, std::string& press, TargetExport& out) {
  if (p.span == "none") return;
  if (cls == "SnapKVPress" || cls == "StreamingLLMPress" || cls == "ObservedAttentionPress") {
    cls = "ChunkKVPress, " + cls;
    press = fmt::format("ChunkKVPress(press={}, chunk_length=20)", press);
    out.warnings.push_back(fmt::format(
        "policy.span={}: no kvpress press keeps {} spans; the nearest is ChunkKVPress, which keeps whole chunks of "
        "chunk_length tokens, ranked by their mean score and the same for every head",
        p.span, p.span));
    return;
  }
  out.warnings.push_back(fmt::format("policy.span={}: no kvpress press keeps {} spans, and ChunkKVPress (fixed "
                                     "chunks) cannot wrap {}: the press above evicts single tokens",
                                     p.span, p.span, press.substr(0, press.find('('))));
}

}  // namespace

TargetExport kvpress_press(const RunConfig& c) {
  TargetExport out;
  const PolicyConfig& p = c.policy;
  auto warn = [&](std::string text) { out.warnings.push_back(std::move(text)); };
  std::string cls, press;
  if (p.name == "full") {
    out.text = "press = None  # full KV: call the pipeline without a press\n";
  } else {
    const std::string ratio = compression_ratio(p, out);
    if (p.chunk_guidance == "question" && guidable_between_chunks(p)) {
      // Question-guided chunks: FinchPress scores the context by the question's attention and,
      // with chunk_length, keeps the ratio in each chunk.
      cls = "FinchPress";
      press = fmt::format("FinchPress(compression_ratio={}, chunk_length={})", ratio, c.prefill_chunk);
      warn(fmt::format(
          "policy.chunk_guidance=question: the nearest is FinchPress, which needs press.update_model_and_tokenizer("
          "model, tokenizer) and the input context + press.delimiter_token + question (question=\"\" to the "
          "pipeline); it scores the whole prefilled context once and keeps the ratio in each chunk of chunk_length, "
          "while kvwb's {} evicts after every prefill chunk (the question fed again with each) and during decode",
          p.name));
    } else if (p.name == "snapkv") {
      cls = "SnapKVPress";
      press = fmt::format("SnapKVPress({})", snapkv_args(p, ratio));
    } else if (p.name == "pyramidkv") {
      cls = "PyramidKVPress";
      press = fmt::format("PyramidKVPress({}, beta={})", snapkv_args(p, ratio), p.pyramid_beta);
    } else if (p.name == "ada-kv") {
      cls = "AdaKVPress, SnapKVPress";
      press = fmt::format("AdaKVPress(SnapKVPress({}), alpha_safeguard={})", snapkv_args(p, ratio), p.min_head_fraction);
    } else if (p.name == "streaming-llm") {
      cls = "StreamingLLMPress";
      press = fmt::format("StreamingLLMPress(compression_ratio={}, n_sink={})", ratio, p.sinks);
    } else if (p.name == "kv-compress") {
      // Attention of a window of queries, heads keeping different numbers of slots.
      cls = "AdaKVPress, SnapKVPress";
      press = fmt::format("AdaKVPress(SnapKVPress({}))", snapkv_args(p, ratio));
      warn(fmt::format("policy.name=kv-compress: no kvpress press; the nearest is Ada-KV over SnapKV (a window of "
                       "queries, uneven heads), without KV-Compress's metric {} and block groups",
                       p.metric));
    } else {  // h2o, batch-max, decode-only: attention observed over the whole prompt
      cls = "ObservedAttentionPress";
      press = fmt::format("ObservedAttentionPress(compression_ratio={})", ratio);
      warn(fmt::format("policy.name={}: {}; kvpress compresses once after prefill, while kvwb's {} also evicts during "
                       "decode",
                       p.name,
                       p.name == "h2o" ? "the nearest press is ObservedAttentionPress (H2O's observed attention)"
                                       : "no kvpress press; the nearest is ObservedAttentionPress (average attention "
                                         "observed over the prompt)",
                       p.name));
    }
    span_press(p, cls, press, out);
    out.text = fmt::format("from kvpress import {}\npress = {}\n", cls, press);
    if (p.sinks > 0 && p.name != "streaming-llm") {
      warn(fmt::format("policy.sinks={}: no counterpart (only StreamingLLMPress keeps sink tokens)", p.sinks));
    }
    if (p.name != "snapkv" && p.name != "pyramidkv" && p.name != "ada-kv") {
      warn(fmt::format("policy.protected_recent={}, policy.decode_interval={}: no counterpart (kvpress compresses "
                       "the prompt once)",
                       p.protected_recent, p.decode_interval));
    }
    if (p.budget_scope == "head") {
      warn("policy.budget_scope=head: kvpress applies compression_ratio to each layer's cache, not per head");
    }
  }
  if (c.kv_dtype == "q8_0" || c.kv_dtype == "q4_0") {
    warn(fmt::format("kv_dtype={}: no counterpart (kvpress keeps the KV cache in the model's torch_dtype; "
                     "transformers' QuantizedCache quantizes per channel in groups, not kvwb's blocks of 32 values)",
                     c.kv_dtype));
  } else {
    const std::string torch = c.kv_dtype == "f32" ? "float32" : c.kv_dtype == "f16" ? "float16" : "bfloat16";
    warn(fmt::format("kv_dtype={}: kvpress keeps the KV cache in the model's dtype: load it with torch_dtype=torch.{}",
                     c.kv_dtype, torch));
  }
  if (c.sampling.temperature > 0) {
    warn(fmt::format("sampling.temperature={}: kvpress's pipeline decodes greedily", c.sampling.temperature));
  }
  warn(fmt::format("backend={}, weights_dtype={}, threads={}, weights_cache_bytes={}: chosen when loading the "
                   "model in transformers (device_map, torch_dtype), not in the press",
                   c.backend, c.weights_dtype, c.threads, c.weights_cache_bytes));
  warn(fmt::format("kv_pool_bytes, block_size={}, max_batch={}, max_tokens_per_step={}, prefill_chunk={}: no "
                   "counterpart (kvpress runs one transformers pipeline call at a time)",
                   c.block_size, c.max_batch, c.max_tokens_per_step, c.prefill_chunk));
  client_side_warnings(c, out.warnings);
  return out;
}

}  // namespace kvwb
