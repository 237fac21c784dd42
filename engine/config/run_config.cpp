#include "engine/config/run_config.h"

#include <cmath>
#include <fstream>
#include <set>

#include "engine/core/error.h"
#include "engine/core/json_file.h"

namespace kvwb {
namespace {

const std::set<std::string> kPolicies = {"full",   "decode-only", "batch-max", "kv-compress", "streaming-llm",
                                         "h2o",    "snapkv",      "pyramidkv", "ada-kv"};

void reject_unknown_keys(const Json& obj, const std::set<std::string>& known, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (known.count(key) == 0) fail(where, "unknown key '{}'", key);
  }
}

// Integer fields go through json_integer (json_file.h): a float outside the field's range was
// undefined behaviour (a seed of 1.8e19; found by fuzzing with libFuzzer,
// tests/fuzz/regressions/run_config).
template <typename T>
void read(const Json& obj, const char* key, T& out, const std::string& where) {
  out = json_optional<T>(obj, key, out, where);
}

template <typename T>
void read(const Json& obj, const char* key, std::optional<T>& out, const std::string& where) {
  if (obj.contains(key) && !obj.at(key).is_null()) out = json_required<T>(obj, key, where);
}

PolicyConfig policy_from_json(const Json& j, const std::string& where) {
  if (j.is_string()) {  // "policy": "batch-max" is shorthand for {"name": "batch-max"}
    PolicyConfig p;
    p.name = j.get<std::string>();
    return p;
  }
  if (!j.is_object()) fail(where, "expected an object or a policy name");
  reject_unknown_keys(j, {"name", "budget_tokens", "budget_ratio", "budget_scope", "window", "sinks", "protected_recent",
                          "decode_interval", "metric", "pool_kernel", "min_head_fraction", "pyramid_beta",
                          "chunked_prefill"},
                      where);
  PolicyConfig p;
  read(j, "name", p.name, where);
  read(j, "budget_tokens", p.budget_tokens, where);
  read(j, "budget_ratio", p.budget_ratio, where);
  read(j, "budget_scope", p.budget_scope, where);
  read(j, "window", p.window, where);
  read(j, "sinks", p.sinks, where);
  read(j, "protected_recent", p.protected_recent, where);
  read(j, "decode_interval", p.decode_interval, where);
  read(j, "metric", p.metric, where);
  read(j, "pool_kernel", p.pool_kernel, where);
  read(j, "min_head_fraction", p.min_head_fraction, where);
  read(j, "pyramid_beta", p.pyramid_beta, where);
  read(j, "chunked_prefill", p.chunked_prefill, where);
  return p;
}

void check(bool ok, const std::string& where, const char* key, const std::string& problem) {
  if (!ok) fail(where, "{}: {}", key, problem);
}

}  // namespace

int64_t parse_bytes(const std::string& text, const std::string& key) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail(key, "'{}' is not a size (examples: 64MiB, 2GiB, 1000000)", text);
  }
  std::string unit = text.substr(used);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB" || unit == "K") scale = 1024.0;
  else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else fail(key, "unknown size unit '{}' in '{}' (use B, KiB, MiB, GiB, KB, MB, GB)", unit, text);
  const double bytes = value * scale;
  if (!(bytes > 0) || bytes > 9.0e18) fail(key, "size '{}' must be positive", text);
  return static_cast<int64_t>(std::llround(bytes));
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{}{}", static_cast<int64_t>(std::round(v)), units[u]);
  return fmt::format("{:.2f}{}", v, units[u]);
}

RunConfig run_config_from_json(const Json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "a run config must be a JSON object");
  reject_unknown_keys(j, {"schema_version", "model", "random_weights", "backend", "weights_dtype", "kv_dtype", "kv_pool_bytes",
                          "kv_pool_auto_fraction", "block_size", "prefill_chunk", "max_batch", "max_tokens_per_step",
                          "threads", "policy", "sampling", "workload", "max_requests", "trace_sequences", "record"},
                      where);
  RunConfig c;
  read(j, "schema_version", c.schema_version, where);
  if (c.schema_version > kRunConfigSchemaVersion) {
    fail(where, "schema_version {} is newer than this kvwb understands ({})", c.schema_version, kRunConfigSchemaVersion);
  }
  if (c.schema_version < 1) fail(where, "schema_version: must be at least 1, got {}", c.schema_version);
  read(j, "model", c.model, where);
  read(j, "random_weights", c.random_weights, where);
  read(j, "backend", c.backend, where);
  read(j, "weights_dtype", c.weights_dtype, where);
  read(j, "kv_dtype", c.kv_dtype, where);
  if (j.contains("kv_pool_bytes")) {
    const Json& v = j.at("kv_pool_bytes");
    if (v.is_number()) c.kv_pool_bytes = json_integer<int64_t>(v, "kv_pool_bytes", where);
    else if (v.is_string() && v.get<std::string>() == "auto") c.kv_pool_bytes.reset();
    else if (v.is_string()) c.kv_pool_bytes = parse_bytes(v.get<std::string>(), where + ": kv_pool_bytes");
    else fail(where, "kv_pool_bytes: expected bytes, a size such as \"64MiB\", or \"auto\"");
  }
  read(j, "kv_pool_auto_fraction", c.kv_pool_auto_fraction, where);
  read(j, "block_size", c.block_size, where);
  read(j, "prefill_chunk", c.prefill_chunk, where);
  read(j, "max_batch", c.max_batch, where);
  read(j, "max_tokens_per_step", c.max_tokens_per_step, where);
  read(j, "threads", c.threads, where);
  if (j.contains("policy")) c.policy = policy_from_json(j.at("policy"), where + ": policy");
  if (j.contains("sampling")) {
    const Json& s = j.at("sampling");
    const std::string sw = where + ": sampling";
    if (!s.is_object()) fail(sw, "expected an object");
    reject_unknown_keys(s, {"temperature", "top_p", "seed"}, sw);
    read(s, "temperature", c.sampling.temperature, sw);
    read(s, "top_p", c.sampling.top_p, sw);
    read(s, "seed", c.sampling.seed, sw);
  }
  read(j, "workload", c.workload, where);
  read(j, "max_requests", c.max_requests, where);
  read(j, "trace_sequences", c.trace_sequences, where);
  if (j.contains("record") && j.at("record").is_null()) c.record.clear();
  else read(j, "record", c.record, where);
  validate(c, where);
  return c;
}

Json run_config_to_json(const RunConfig& c) {
  Json policy = {{"name", c.policy.name},
                 {"budget_scope", c.policy.budget_scope},
                 {"window", c.policy.window},
                 {"sinks", c.policy.sinks},
                 {"protected_recent", c.policy.protected_recent},
                 {"decode_interval", c.policy.decode_interval},
                 {"metric", c.policy.metric},
                 {"pool_kernel", c.policy.pool_kernel},
                 {"min_head_fraction", c.policy.min_head_fraction},
                 {"pyramid_beta", c.policy.pyramid_beta},
                 {"chunked_prefill", c.policy.chunked_prefill}};
  if (c.policy.budget_tokens) policy["budget_tokens"] = *c.policy.budget_tokens;
  if (c.policy.budget_ratio) policy["budget_ratio"] = *c.policy.budget_ratio;
  Json j = {{"schema_version", c.schema_version},
            {"model", c.model},
            {"backend", c.backend},
            {"weights_dtype", c.weights_dtype},
            {"kv_dtype", c.kv_dtype},
            {"kv_pool_bytes", c.kv_pool_bytes ? Json(*c.kv_pool_bytes) : Json("auto")},
            {"kv_pool_auto_fraction", c.kv_pool_auto_fraction},
            {"block_size", c.block_size},
            {"prefill_chunk", c.prefill_chunk},
            {"max_batch", c.max_batch},
            {"max_tokens_per_step", c.max_tokens_per_step},
            {"threads", c.threads},
            {"policy", policy},
            {"sampling", {{"temperature", c.sampling.temperature}, {"top_p", c.sampling.top_p}, {"seed", c.sampling.seed}}},
            {"workload", c.workload},
            {"trace_sequences", c.trace_sequences},
            {"record", c.record.empty() ? Json(nullptr) : Json(c.record)}};
  if (c.max_requests) j["max_requests"] = *c.max_requests;
  if (!c.random_weights.empty()) j["random_weights"] = c.random_weights;  // only then: older readers stay happy
  return j;
}

RunConfig load_run_config(const std::string& path) { return run_config_from_json(read_json_file(path), path); }

void save_run_config(const RunConfig& config, const std::string& path) {
  std::ofstream out(path);
  if (!out) fail(path, "cannot write the config file");
  out << run_config_to_json(config).dump(2) << "\n";
  if (!out) fail(path, "write failed");
}

void validate(const RunConfig& c, const std::string& w) {
  check(c.backend == "cpu" || c.backend == "cuda", w, "backend", "must be cpu or cuda, got '" + c.backend + "'");
  check(c.weights_dtype == "stored" || c.weights_dtype == "f32" || c.weights_dtype == "bf16" || c.weights_dtype == "f16",
        w, "weights_dtype", "must be stored, f32, bf16 or f16, got '" + c.weights_dtype + "'");
  check(c.kv_dtype == "f32", w, "kv_dtype", "only f32 is supported, got '" + c.kv_dtype + "'");
  check(!c.kv_pool_bytes || *c.kv_pool_bytes > 0, w, "kv_pool_bytes", "must be positive");
  check(c.kv_pool_auto_fraction > 0 && c.kv_pool_auto_fraction <= 0.95, w, "kv_pool_auto_fraction",
        "must be in (0, 0.95]");
  check(c.block_size >= 1 && c.block_size <= 1024, w, "block_size", "must be in [1, 1024]");
  check(c.prefill_chunk >= 1, w, "prefill_chunk", "must be at least 1");
  check(c.max_batch >= 1, w, "max_batch", "must be at least 1");
  check(c.max_tokens_per_step >= 1, w, "max_tokens_per_step", "must be at least 1");
  check(c.threads >= 0, w, "threads", "must be 0 (all cores) or more");
  const PolicyConfig& p = c.policy;
  check(kPolicies.count(p.name) == 1, w, "policy.name",
        "unknown policy '" + p.name + "' (full, decode-only, batch-max, kv-compress, streaming-llm, h2o, snapkv, pyramidkv, ada-kv)");
  check(!(p.budget_tokens && p.budget_ratio), w, "policy", "give budget_tokens or budget_ratio, not both");
  check(!p.budget_tokens || *p.budget_tokens >= 1, w, "policy.budget_tokens", "must be at least 1");
  check(!p.budget_ratio || (*p.budget_ratio > 0 && *p.budget_ratio <= 1), w, "policy.budget_ratio", "must be in (0, 1]");
  check(p.budget_scope == "sequence" || p.budget_scope == "head", w, "policy.budget_scope", "must be sequence or head");
  check(p.window >= 1, w, "policy.window", "must be at least 1");
  check(p.sinks >= 0, w, "policy.sinks", "must not be negative");
  check(p.protected_recent >= 0, w, "policy.protected_recent", "must not be negative");
  check(p.decode_interval >= 1, w, "policy.decode_interval", "must be at least 1");
  check(p.metric == "l1-sum" || p.metric == "l1-avg" || p.metric == "l2-sum" || p.metric == "l2-avg", w, "policy.metric",
        "must be l1-sum, l1-avg, l2-sum or l2-avg");
  check(p.pool_kernel == 0 || (p.pool_kernel >= 1 && p.pool_kernel % 2 == 1), w, "policy.pool_kernel",
        "must be 0 (the policy's default) or an odd number >= 1");
  check(p.min_head_fraction >= 0 && p.min_head_fraction <= 1, w, "policy.min_head_fraction", "must be in [0, 1]");
  check(p.pyramid_beta >= 1, w, "policy.pyramid_beta", "must be at least 1");
  check(c.sampling.temperature >= 0, w, "sampling.temperature", "must not be negative");
  check(c.sampling.top_p > 0 && c.sampling.top_p <= 1, w, "sampling.top_p", "must be in (0, 1]");
  check(!c.max_requests || *c.max_requests >= 1, w, "max_requests", "must be at least 1");
}

}  // namespace kvwb
