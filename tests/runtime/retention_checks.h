#pragma once
// The invariants of one (sequence, layer, KV head)'s retained positions at the end of a step
// (docs/architecture.md, "Invariants"): sorted and unique, the first `sinks` positions and the `recent` newest ones
// (counted back from the newest token, which is always cached) kept. Shared by the policy
// tests and the stress test.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "engine/runtime/step_stats.h"

namespace kvwb::testing_support {

// "" when the head keeps every invariant, else the first broken one.
inline std::string retention_problem(const HeadRetention& h, int32_t sinks, int32_t recent) {
  const std::string head = h.request_id + " layer " + std::to_string(h.layer) + " head " + std::to_string(h.head);
  if (!std::is_sorted(h.positions.begin(), h.positions.end())) return head + ": positions not sorted";
  const std::set<int32_t> kept(h.positions.begin(), h.positions.end());
  if (kept.size() != h.positions.size()) return head + ": a position is retained twice";
  if (h.positions.empty()) return "";
  const int32_t top = h.positions.back();
  for (int32_t p = std::max(0, top - recent + 1); p <= top; ++p) {
    if (kept.count(p) == 0) return head + ": recent position " + std::to_string(p) + " was evicted";
  }
  for (int32_t p = 0; p < std::min(sinks, top + 1); ++p) {
    if (kept.count(p) == 0) return head + ": sink position " + std::to_string(p) + " was evicted";
  }
  return "";
}

}  // namespace kvwb::testing_support
