#include "app/cli/config_flags.h"

namespace kvwb::cli {

void ConfigFlags::add_to(CLI::App& app, bool sweep) {
  app.add_option("--config,-c", config_path, "RunConfig JSON file (flags override its values)");
  app.add_option("--model,-m", model, "Model directory, .gguf file, or shorthand (demo, smollm2)");
  app.add_option("--random-weights", random_weights,
                 "HF config.json: a model of its shape with random weights and a byte tokenizer (benchmarks)");
  app.add_option("--weights-dtype", weights_dtype, "Weights in memory: stored (as in the file; bf16 for --random-weights), f32, f16 or bf16");
  app.add_option("--backend", backend, "cpu or cuda");
  app.add_option("--workload,-w", workload, "Workload JSONL file");
  app.add_option("--max-requests", max_requests, "Run only the first N requests");
  app.add_option("--kv-pool", kv_pool, "KV cache memory: bytes, a size such as 64MiB, or auto");
  app.add_option("--block-size", block_size, "Tokens per KV block");
  app.add_option("--prefill-chunk", prefill_chunk, "Prompt tokens per sequence per step");
  app.add_option("--max-batch", max_batch, "Most sequences per step");
  app.add_option("--max-tokens-per-step", max_tokens_per_step, "Most tokens per step");
  app.add_option("--threads", threads, "CPU threads (0 = all cores)");
  if (!sweep) {
    app.add_option("--policy", policy, "Compression policy (full, decode-only, batch-max, kv-compress, ...)");
    app.add_option("--budget-tokens", budget_tokens, "Compression budget in tokens");
    app.add_option("--budget-ratio", budget_ratio, "Compression budget as a fraction of the context");
  }
  app.add_option("--budget-scope", budget_scope, "sequence or head");
  app.add_option("--window", window, "Observation window (queries that score)");
  app.add_option("--sinks", sinks, "First tokens never evicted");
  app.add_option("--protected-recent", protected_recent, "Last tokens never evicted");
  app.add_option("--decode-interval", decode_interval, "Decode steps between evictions");
  app.add_option("--metric", metric, "kv-compress metric: l1-sum, l1-avg, l2-sum, l2-avg");
  app.add_option("--pool-kernel", pool_kernel, "Pooling width over neighbouring slots (odd; 1 = none)");
  app.add_option("--min-head-fraction", min_head_fraction, "ada-kv: floor per head, a fraction of the uniform budget");
  app.add_option("--pyramid-beta", pyramid_beta, "pyramidkv: ratio of the largest to the smallest layer budget");
  app.add_option("--chunked-prefill", chunked_prefill, "kv-compress: compress between prefill chunks too (true/false)");
  app.add_option("--trace-sequences", trace_sequences, "Request ids whose full eviction maps are reported (default: the first two)")
      ->delimiter(',');
  app.add_option("--temperature", temperature, "Sampling temperature (0 = greedy)");
  app.add_option("--top-p", top_p, "Nucleus sampling mass");
  app.add_option("--seed", seed, "Sampling seed");
  if (!sweep) app.add_option("--record", record, "Session database to record into");
}

RunConfig ConfigFlags::resolve() const {
  RunConfig c = config_path.empty() ? RunConfig{} : load_run_config(config_path);
  if (model) c.model = *model;
  if (random_weights) c.random_weights = *random_weights;
  if (weights_dtype) c.weights_dtype = *weights_dtype;
  if (backend) c.backend = *backend;
  if (workload) c.workload = *workload;
  if (max_requests) c.max_requests = *max_requests;
  if (kv_pool) {
    if (*kv_pool == "auto") c.kv_pool_bytes.reset();
    else c.kv_pool_bytes = parse_bytes(*kv_pool, "--kv-pool");
  }
  if (block_size) c.block_size = *block_size;
  if (prefill_chunk) c.prefill_chunk = *prefill_chunk;
  if (max_batch) c.max_batch = *max_batch;
  if (max_tokens_per_step) c.max_tokens_per_step = *max_tokens_per_step;
  if (threads) c.threads = *threads;
  if (policy) c.policy.name = *policy;
  if (budget_tokens) {
    c.policy.budget_tokens = *budget_tokens;
    c.policy.budget_ratio.reset();
  }
  if (budget_ratio) {
    c.policy.budget_ratio = *budget_ratio;
    c.policy.budget_tokens.reset();
  }
  if (budget_scope) c.policy.budget_scope = *budget_scope;
  if (window) c.policy.window = *window;
  if (sinks) c.policy.sinks = *sinks;
  if (protected_recent) c.policy.protected_recent = *protected_recent;
  if (decode_interval) c.policy.decode_interval = *decode_interval;
  if (metric) c.policy.metric = *metric;
  if (pool_kernel) c.policy.pool_kernel = *pool_kernel;
  if (min_head_fraction) c.policy.min_head_fraction = *min_head_fraction;
  if (pyramid_beta) c.policy.pyramid_beta = *pyramid_beta;
  if (chunked_prefill) c.policy.chunked_prefill = *chunked_prefill;
  if (trace_sequences) c.trace_sequences = *trace_sequences;
  if (temperature) c.sampling.temperature = *temperature;
  if (top_p) c.sampling.top_p = *top_p;
  if (seed) c.sampling.seed = *seed;
  if (record) c.record = *record;
  validate(c, config_path.empty() ? "command line" : config_path);
  return c;
}

}  // namespace kvwb::cli
