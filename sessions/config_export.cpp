#include "sessions/config_export.h"

#include "engine/core/error.h"

namespace kvwb {
namespace {

std::string shell_quote(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                       "-_./=:,+@%") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string target_names() {
  std::string out;
  for (std::string_view t : kExportTargets) out += (out.empty() ? "" : ", ") + std::string(t);
  return out;
}

TargetExport from_flags(ServingFlags flags) { return {flags.line(), std::move(flags.warnings)}; }

}  // namespace

nlohmann::json config_json_at_step(const nlohmann::json& initial, const std::vector<ConfigChange>& changes,
                                   std::optional<int64_t> step) {
  nlohmann::json config = initial;
  for (const ConfigChange& c : changes) {  // in step order
    if (step && c.step > *step) break;
    config = c.config;
  }
  return config;
}

RunConfig tuned_config(const nlohmann::json& initial, const std::vector<ConfigChange>& changes,
                       std::optional<int64_t> step, const std::string& where) {
  if (step && *step < 0) fail(where, "--step must not be negative, got {}", *step);
  RunConfig c = run_config_from_json(config_json_at_step(initial, changes, step), where);
  c.record.clear();
  return c;
}

std::string ServingFlags::line() const {
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

void client_side_warnings(const RunConfig& c, std::vector<std::string>& warnings) {
  warnings.push_back(fmt::format("workload={}: no counterpart (the requests are the client's side)",
                                 c.workload.empty() ? "none" : c.workload));
  if (c.max_requests) {
    warnings.push_back(fmt::format("max_requests={}: no counterpart (the requests are the client's side)", *c.max_requests));
  }
  warnings.push_back("trace_sequences: no counterpart (a kvwb recording knob)");
  if (!c.record.empty()) warnings.push_back(fmt::format("record={}: no counterpart (a kvwb recording knob)", c.record));
}

void check_export_target(const std::string& target, const std::string& what) {
  for (std::string_view t : kExportTargets) {
    if (t == target) return;
  }
  fail(what, "unknown target '{}' (one of {})", target, target_names());
}

TargetExport export_for_target(const RunConfig& config, const std::string& target, const std::string& what) {
  check_export_target(target, what);
  if (target == "vllm-kvcompress") return from_flags(vllm_kvcompress_flags(config));
  if (target == "vllm") return from_flags(vllm_flags(config));
  if (target == "llama.cpp") return from_flags(llama_cpp_flags(config));
  return kvpress_press(config);
}

}  // namespace kvwb
