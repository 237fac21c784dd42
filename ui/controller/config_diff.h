#pragma once
// A one-line description of what changed between two run configs, used to label the marks a
// live budget change leaves on the time plots ("policy h2o -> snapkv, budget_tokens 512 -> 256").
#include <string>

#include "engine/config/run_config.h"

namespace kvwb {

// Keys are the RunConfig JSON keys, policy.* and sampling.* without their prefix; keys that
// appear only on one side show "-" for the missing value. Empty when nothing differs.
std::string describe_config_change(const RunConfig& before, const RunConfig& after);

}  // namespace kvwb
