// vLLM and the vLLM-kvcompress fork (IsaacRe/vllm-kvcompress): the same server flags, plus
// the fork's compression flags (docs/config-export.md).
#include <fmt/format.h>

#include "sessions/config_export.h"

namespace kvwb {
namespace {

// The fork's argument parser (vllm/engine/arg_utils.py at 5e2a639) accepts only these.
bool vllm_block_size(int64_t b) { return b == 8 || b == 16 || b == 32; }
// vLLM-kvcompress max-pools metrics with a fixed kernel of 7 (attention/backends/flash_attn.py).
constexpr int64_t kVllmMaxpoolWidth = 7;

std::string vllm_dtype(const std::string& kvwb_dtype) {
  if (kvwb_dtype == "f32") return "float32";
  if (kvwb_dtype == "f16") return "float16";
  if (kvwb_dtype == "bf16") return "bfloat16";
  return "auto";  // "stored": the checkpoint's dtype, as vLLM's auto
}

// vLLM keeps the KV cache in the model dtype (--kv-cache-dtype auto) or in fp8.
void kv_cache_dtype(const RunConfig& c, const std::string& model_dtype, ServingFlags& b) {
  if (c.kv_dtype == "q8_0" || c.kv_dtype == "q4_0") {
    b.warn("kv_dtype={}: no counterpart (vLLM keeps the KV cache in the model dtype or fp8; fp8 is 8-bit floats "
           "with one scale per tensor, not kvwb's blocks of 32 values with an f16 scale each: no exact twin, so no "
           "--kv-cache-dtype is given)",
           c.kv_dtype);
  } else if (vllm_dtype(c.kv_dtype) == model_dtype) {
    b.flag("--kv-cache-dtype", "auto");
  } else {
    b.warn("kv_dtype={}: no counterpart (vLLM keeps the KV cache in the model dtype ({}) or fp8, which has no exact "
           "kvwb twin; give --dtype {} to store it as kvwb does)",
           c.kv_dtype, model_dtype, vllm_dtype(c.kv_dtype));
  }
}

void kv_compress_flags(const PolicyConfig& p, ServingFlags& b) {
  b.flag("--enable-kvcompress");
  b.flag("--enforce-eager");  // the fork does not support CUDA graphs
  if (p.budget_tokens) {
    b.flag("--max-cache-tokens", std::to_string(*p.budget_tokens));
    if (p.budget_scope == "head") {
      b.warn("policy.budget_scope=head: vLLM-kvcompress budgets a sequence ({} tokens x layers x KV heads, spread "
             "unevenly over heads), not each head",
             *p.budget_tokens);
    }
    if (*p.budget_tokens <= p.protected_recent) {
      b.warn("policy.budget_tokens={} <= policy.protected_recent={}: vLLM-kvcompress refuses max_cache_tokens not "
             "above protected_window_size",
             *p.budget_tokens, p.protected_recent);
    }
  } else if (p.budget_ratio) {
    b.flag("--target-compression-rate", fmt::format("{}", *p.budget_ratio));
    if (p.budget_scope == "head") {
      b.warn("policy.budget_scope=head: vLLM-kvcompress applies the rate per sequence, not per head");
    }
  }
  b.flag("--protected-window-size", std::to_string(p.protected_recent));
  b.flag("--prefill-metric-collection-window-size", std::to_string(p.window));
  b.flag("--compression-interval", std::to_string(p.decode_interval));
  const std::string metric = (p.metric.rfind("l1", 0) == 0 ? "L1" : "L2") + p.metric.substr(2);
  b.flag("--metric-aggregation", metric);
  // 0 = the policy's default width, which for kvwb's KV-Compress is 1 (no pooling).
  const int64_t width = p.pool_kernel > 0 ? p.pool_kernel : 1;
  if (width == 1) {
    b.flag("--no-maxpool-metrics");
  } else if (width != kVllmMaxpoolWidth) {
    b.warn("policy.pool_kernel={}: no counterpart (vLLM-kvcompress max-pools over a fixed width of {}; kept on)",
           p.pool_kernel, kVllmMaxpoolWidth);
  }
  if (p.chunked_prefill) {
    b.warn("policy.chunked_prefill=true: no counterpart (vLLM-kvcompress compresses after the whole prefill; it "
           "does not support chunked prefill)");
  }
}

void policy_flags(const PolicyConfig& p, ServingFlags& b) {
  if (p.name == "kv-compress") {
    kv_compress_flags(p, b);
  } else {
    if (p.name != "full") {
      b.warn("policy.name={}: no counterpart (vLLM-kvcompress implements KV-Compress only); the flags describe a "
             "server without compression",
             p.name);
    }
    std::string budget = "none";
    if (p.budget_tokens) budget = fmt::format("{} tokens per {}", *p.budget_tokens, p.budget_scope);
    if (p.budget_ratio) budget = fmt::format("ratio {} per {}", *p.budget_ratio, p.budget_scope);
    b.warn("policy budget ({}), window={}, protected_recent={}, decode_interval={}, metric={}, pool_kernel={}, "
           "chunked_prefill={}: no counterpart without --enable-kvcompress",
           budget, p.window, p.protected_recent, p.decode_interval, p.metric, p.pool_kernel, p.chunked_prefill);
  }
  if (p.sinks > 0) b.warn("policy.sinks={}: no counterpart (vLLM-kvcompress protects only the recent window)", p.sinks);
  b.warn("policy.min_head_fraction={}: no counterpart (an Ada-KV knob{})", p.min_head_fraction,
         p.name == "ada-kv" ? "" : ", unused by this policy");
  b.warn("policy.pyramid_beta={}: no counterpart (a PyramidKV knob{})", p.pyramid_beta,
         p.name == "pyramidkv" ? "" : ", unused by this policy");
  if (p.span != "none") b.warn("policy.span={}: no counterpart (vLLM-kvcompress evicts single tokens)", p.span);
  if (p.chunk_guidance != "none") {
    b.warn("policy.chunk_guidance={}: no counterpart (vLLM-kvcompress compresses once the whole prompt is in)",
           p.chunk_guidance);
  }
}

// The flags both servers share; `policy` adds the policy's (the fork's compression or warnings).
template <typename PolicyFlags>
ServingFlags server_flags(const RunConfig& c, const char* server, const char* prefill_note, PolicyFlags policy) {
  ServingFlags b;
  b.flag("--model", c.model);
  if (c.model == "demo" || c.model == "smollm2") {
    b.warn("model={}: a kvwb shorthand; give vLLM the model's directory or hub name", c.model);
  }
  if (c.backend != "cuda") b.warn("backend={}: no counterpart ({} runs on CUDA GPUs)", c.backend, server);
  const std::string dtype = vllm_dtype(c.weights_dtype);
  b.flag("--dtype", dtype);
  kv_cache_dtype(c, dtype, b);
  if (c.kv_pool_bytes) {
    b.warn("kv_pool_bytes={}: no counterpart (vLLM sizes the KV pool with --gpu-memory-utilization, a fraction of "
           "all GPU memory including weights; choose it so the pool is about this size)",
           format_bytes(*c.kv_pool_bytes));
  } else {
    b.warn("kv_pool_bytes=auto with kv_pool_auto_fraction={}: no counterpart (kvwb takes this fraction of the memory "
           "left after weights; vLLM's --gpu-memory-utilization is a fraction of all GPU memory)",
           c.kv_pool_auto_fraction);
  }
  if (vllm_block_size(c.block_size)) {
    b.flag("--block-size", std::to_string(c.block_size));
  } else {
    b.warn("block_size={}: no counterpart (vLLM accepts 8, 16 or 32)", c.block_size);
  }
  b.warn("prefill_chunk={}: no counterpart ({})", c.prefill_chunk, prefill_note);
  b.flag("--max-num-seqs", std::to_string(c.max_batch));
  b.flag("--max-num-batched-tokens", std::to_string(c.max_tokens_per_step));
  policy(c.policy, b);
  b.flag("--seed", std::to_string(c.sampling.seed));
  b.warn("sampling.temperature={} and sampling.top_p={}: per-request sampling parameters in vLLM, not server flags",
         c.sampling.temperature, c.sampling.top_p);
  b.warn("threads={}, weights_cache_bytes={}: no counterpart (kvwb CPU-backend knobs)", c.threads,
         c.weights_cache_bytes);
  client_side_warnings(c, b.warnings);
  return b;
}

}  // namespace

ServingFlags vllm_kvcompress_flags(const RunConfig& c) {
  return server_flags(c, "vLLM-kvcompress", "vLLM-kvcompress does not support chunked prefill", policy_flags);
}

ServingFlags vllm_flags(const RunConfig& c) {
  return server_flags(c, "vLLM",
                      "vLLM's chunked prefill splits the step's --max-num-batched-tokens over the prompts, not each "
                      "prompt into chunks of a fixed size",
                      [](const PolicyConfig& p, ServingFlags& b) {
                        if (p.name != "full") {
                          b.warn("policy.name={}: no counterpart (vLLM keeps the whole KV cache; the target "
                                 "vllm-kvcompress has KV-Compress, kvpress the other policies)",
                                 p.name);
                        }
                      });
}

}  // namespace kvwb
