#pragma once
// Tuned-config export: the RunConfig a session ran with at a given step (its initial config
// with the live changes made up to that step), and the same settings for a peer (an export
// target): command-line flags of vLLM-kvcompress (IsaacRe/vllm-kvcompress), vLLM or llama.cpp's
// llama-server, or a kvpress press in Python. Each mapping is in docs/config-export.md and in one
// file per target (sessions/export_*.cpp); a kvwb knob with no (exact) counterpart there becomes
// a warning, never a silent omission.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "engine/config/run_config.h"
#include "sessions/session_types.h"

namespace kvwb {

// The config as JSON when `step` ran: the initial config, replaced by the last change made at
// or before `step`. No step: the config at the end (after every change).
nlohmann::json config_json_at_step(const nlohmann::json& initial, const std::vector<ConfigChange>& changes,
                                   std::optional<int64_t> step);

// The same, parsed and validated (errors name `where` and the key). `record` is cleared: an
// exported config describes the run, and recording is chosen when running it.
RunConfig tuned_config(const nlohmann::json& initial, const std::vector<ConfigChange>& changes,
                       std::optional<int64_t> step, const std::string& where);

struct ServingFlags {
  std::vector<std::string> args;      // "--max-cache-tokens", "512", ...
  std::vector<std::string> warnings;  // one per kvwb knob with no (exact) counterpart
  std::string line() const;           // args joined, shell-quoted where needed

  void flag(const std::string& name) { args.push_back(name); }
  void flag(const std::string& name, const std::string& value) {
    args.push_back(name);
    args.push_back(value);
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... values) {
    warnings.push_back(fmt::format(format, std::forward<Args>(values)...));
  }
};

ServingFlags vllm_kvcompress_flags(const RunConfig& config);  // sessions/export_vllm.cpp
ServingFlags vllm_flags(const RunConfig& config);             // sessions/export_vllm.cpp
ServingFlags llama_cpp_flags(const RunConfig& config);        // sessions/export_llama_cpp.cpp

// What a target gets: the flags on one line, or Python lines; and the warnings.
struct TargetExport {
  std::string text;
  std::vector<std::string> warnings;
};

// A kvpress press as Python (sessions/export_kvpress.cpp): the import line and `press = ...`.
TargetExport kvpress_press(const RunConfig& config);

// The export targets, by name (kvwb-cli config export --target).
inline constexpr std::array<std::string_view, 4> kExportTargets = {"vllm-kvcompress", "vllm", "llama.cpp", "kvpress"};

// Error naming `what` and the value unless `target` is one of kExportTargets:
// "--target: unknown target 'x' (one of vllm-kvcompress, vllm, llama.cpp, kvpress)".
void check_export_target(const std::string& target, const std::string& what);

// The text for target `target` (flags on one line, or kvpress's Python) and its warnings.
// An unknown target: check_export_target's error.
TargetExport export_for_target(const RunConfig& config, const std::string& target, const std::string& what);

// Warnings shared by every target: knobs that belong to the client side or to kvwb's recording.
void client_side_warnings(const RunConfig& config, std::vector<std::string>& warnings);

}  // namespace kvwb
