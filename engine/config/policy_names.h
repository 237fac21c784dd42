#pragma once
// The policy registry: every compression policy name kvwb knows, stated once. RunConfig
// validation, the CLI's help, the GUI's policy list and the sweep derive from it;
// engine/runtime/policies/policies.cpp builds each one (a test checks every name builds).
#include <span>
#include <string>
#include <string_view>

#include "engine/config/run_config.h"

namespace kvwb {

struct PolicyInfo {
  std::string_view name;
  std::string_view summary;  // one line, for tooltips and --help
};

std::span<const PolicyInfo> policy_registry();
std::span<const std::string_view> policy_names();
bool is_policy_name(std::string_view name);
// "full, decode-only, batch-max, ..." for messages.
std::string policy_name_list();

// Whether policy.chunk_guidance applies to this config: its policy evicts between prefill chunks
// by attention scores (batch-max; kv-compress with chunked_prefill). StreamingLLM also evicts
// there, but by recency, which no query changes.
bool guidable_between_chunks(const PolicyConfig& config);

}  // namespace kvwb
