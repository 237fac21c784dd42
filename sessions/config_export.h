#pragma once
// Tuned-config export: the RunConfig a session ran with at a given step (its initial config
// with the live changes made up to that step), and the same settings as command-line flags of
// vLLM-kvcompress (IsaacRe/vllm-kvcompress) for serving. The flag mapping is in
// docs/config-export.md; a kvwb knob with no counterpart there becomes a warning, never a
// silent omission.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
};

ServingFlags vllm_kvcompress_flags(const RunConfig& config);

}  // namespace kvwb
