#pragma once
// RunConfig: every tunable of a run in one serializable value. The GUI edits it, sessions store
// it, `config export` writes it, kvwb-cli reads it. JSON with a schema_version; unknown keys and
// out-of-range values are errors naming the key. Each field's key, flag, help, unit, range and
// whether it may change while running are stated once, in run_config_schema.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/backend.h"

namespace kvwb {

// Version 2: kv_dtype defaults to f16 (a version-1 config without it reads as f32). Version 3:
// kv_rotation, default hadamard (a version-1 or -2 config without it reads as none). The history
// of the schema is in docs/config-export.md.
inline constexpr int kRunConfigSchemaVersion = 3;

struct PolicyConfig {
  std::string name = "full";  // one of policy_registry() (engine/config/policy_names.h)
  std::optional<int64_t> budget_tokens;  // kept per sequence (scope sequence) or per head (scope head)
  std::optional<double> budget_ratio;    // kept fraction of the context, in (0, 1]
  std::string budget_scope = "sequence";  // sequence | head
  int64_t window = 32;           // observation window (queries that score)
  int64_t sinks = 4;             // first tokens never evicted
  int64_t protected_recent = 32; // last tokens never evicted
  int64_t decode_interval = 16;  // decode steps between evictions
  // Method-specific knobs.
  std::string metric = "l2-sum";  // kv-compress: l1-sum | l1-avg | l2-sum | l2-avg
  int64_t pool_kernel = 0;         // pooling width over neighbouring slots (odd; 1 = none; 0 = the policy's default)
  double min_head_fraction = 0.2;  // ada-kv safeguard: floor per head as a fraction of uniform
  double pyramid_beta = 20.0;      // pyramidkv
  bool chunked_prefill = false;    // kv-compress: compress between prefill chunks too (the paper's code could not)
  // Every scoring policy: keep or drop whole spans of tokens (none | word | line; token_spans.h).
  std::string span = "none";
  // Policies that evict between prefill chunks: which queries score a chunk (none: its own, as
  // the policy observes; question: the request's question, or the prompt's last `window` tokens,
  // fed with every chunk and dropped again; docs/policies.md).
  std::string chunk_guidance = "none";
};

struct SamplingConfig {
  double temperature = 0.0;
  double top_p = 1.0;
  uint64_t seed = 0;
};

struct RunConfig {
  int schema_version = kRunConfigSchemaVersion;
  std::string model = "demo";
  // An HF config.json: run a model of its shape with random weights (in weights_dtype) and a
  // byte tokenizer instead of loading `model` (benchmark shapes without a checkpoint).
  std::string random_weights;
  std::string backend = "cpu";          // cpu | cuda
  std::string weights_dtype = "stored";  // stored | f32 | bf16 | f16
  std::string kv_dtype = "f16";  // one of kernels::kKvDTypes (kernels/kv_dtype.h); fixed for a run
  // none | hadamard: q8_0 / q4_0 rows rotated before rounding (kernels/kv_rotation.h); fixed for a run.
  std::string kv_rotation = "hadamard";
  std::optional<int64_t> kv_pool_bytes;  // nullopt = auto
  double kv_pool_auto_fraction = 0.5;    // share of available memory after weights when auto
  int64_t block_size = 16;
  int64_t prefill_chunk = 128;
  int64_t max_batch = 64;
  int64_t max_tokens_per_step = 512;
  int threads = 0;  // CPU threads, 0 = all cores
  // CPU backend: bytes of f32 weight copies kept across steps (kernels/cpu/weights_cache.h).
  int64_t weights_cache_bytes = static_cast<int64_t>(kernels::kDefaultWeightsCacheBytes);
  std::string matmul = "exact";  // exact | fast (kernels::MatmulMode): CPU matmul on Q8_0/Q4_0/Q4_1
  PolicyConfig policy;
  SamplingConfig sampling;
  std::string workload;                  // JSONL path
  std::optional<int64_t> max_requests;   // take only the first N requests of the workload
  std::vector<std::string> trace_sequences;  // request ids with full eviction maps; empty = first two
  std::string record;                    // session database path; empty = none
};

// Parses "64MiB", "1.5GiB", "512KB", "1000000" (bytes). Errors name `key`.
int64_t parse_bytes(const std::string& text, const std::string& key);
std::string format_bytes(int64_t bytes);

RunConfig run_config_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json run_config_to_json(const RunConfig& config);
RunConfig load_run_config(const std::string& path);
void save_run_config(const RunConfig& config, const std::string& path);

// Checks ranges and combinations; errors name the key. Called by the parsers and before a run.
void validate(const RunConfig& config, const std::string& where);

}  // namespace kvwb
