#pragma once
// Folds the engine's eviction decisions on one traced request (EvictionRecord, reported in
// StepStats::evictions) into its eviction map: per (layer, KV head), the step at which each
// token position was evicted and the score that decided it. A position evicted again after a
// preemption (recompute) keeps its latest decision. Kept positions read -1 with a NaN score:
// the engine reports scores only for what it evicts.
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "sessions/session_types.h"

namespace kvwb {

class EvictionMapBuilder {
 public:
  explicit EvictionMapBuilder(std::string request_id) : request_id_(std::move(request_id)) {}

  void add(const EvictionRecord& record);
  // Heads that evicted something, each padded to `context_length` positions (at least the
  // highest evicted position + 1), as of `step`.
  EvictionMap build(int64_t step, int64_t context_length) const;
  const std::string& request_id() const { return request_id_; }

 private:
  std::string request_id_;
  std::map<std::pair<int32_t, int32_t>, HeadEvictions> heads_;  // by (layer, head)
  int64_t positions_seen_ = 0;  // highest evicted position + 1
};

}  // namespace kvwb
