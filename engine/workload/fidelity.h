#pragma once
// Fidelity of a compressed run to full KV, per request: how many generated tokens match the
// full-KV output position by position, as a share of the longer of the two outputs (1 = the
// same tokens; an answer that stops early or runs on counts its missing tokens as mismatches).
#include <cstdint>
#include <vector>

namespace kvwb {

double token_agreement(const std::vector<int32_t>& output, const std::vector<int32_t>& reference);

}  // namespace kvwb
