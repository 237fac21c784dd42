#include "sessions/eviction_map_builder.h"

#include <algorithm>
#include <limits>

#include "engine/core/error.h"

namespace kvwb {
namespace {

void grow(HeadEvictions& h, size_t n) {
  if (h.evicted_at_step.size() >= n) return;
  h.evicted_at_step.resize(n, -1);
  h.scores.resize(n, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace

void EvictionMapBuilder::add(const EvictionRecord& r) {
  if (r.request_id != request_id_) fail(r.request_id, "an eviction record for the map of '{}'", request_id_);
  if (r.positions.size() != r.scores.size()) {
    fail(r.request_id, "eviction record of layer {} head {} has {} positions and {} scores", r.layer, r.head,
         r.positions.size(), r.scores.size());
  }
  HeadEvictions& h = heads_[{r.layer, r.head}];
  h.layer = r.layer;
  h.head = r.head;
  for (size_t i = 0; i < r.positions.size(); ++i) {
    const int32_t p = r.positions[i];
    if (p < 0) fail(r.request_id, "negative evicted position {}", p);
    grow(h, static_cast<size_t>(p) + 1);
    h.evicted_at_step[static_cast<size_t>(p)] = static_cast<int32_t>(r.step);
    h.scores[static_cast<size_t>(p)] = r.scores[i];
    positions_seen_ = std::max<int64_t>(positions_seen_, int64_t{p} + 1);
  }
}

EvictionMap EvictionMapBuilder::build(int64_t step, int64_t context_length) const {
  EvictionMap map;
  map.request_id = request_id_;
  map.step = step;
  map.context_length = std::max(context_length, positions_seen_);
  for (const auto& [key, head] : heads_) {
    HeadEvictions h = head;
    grow(h, static_cast<size_t>(map.context_length));
    map.heads.push_back(std::move(h));
  }
  return map;
}

}  // namespace kvwb
