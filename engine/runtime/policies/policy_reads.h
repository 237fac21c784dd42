#pragma once
// Which policy knobs a policy reads, from its traits (policies.cpp): the sweep multiplies a point
// by a knob's values only where the knob can change what the point keeps.
#include <string_view>

#include "engine/config/run_config.h"

namespace kvwb {

// Whether the policy of `config` reads the RunConfig field `key` ("policy.pool_kernel"): the
// pooling width where it pools scores, the window where it observes a window, protects it or
// falls back to it for question guidance, min_head_fraction for Ada-KV's allocation,
// pyramid_beta for PyramidKV's, decode_interval where it evicts during decode, chunk_guidance
// where it evicts between chunks by attention. `full` reads no policy knob; any other key
// (sinks, protected_recent, span, the budgets) is read by every evicting policy.
bool policy_reads(const PolicyConfig& config, std::string_view key);

}  // namespace kvwb
