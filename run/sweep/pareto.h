#pragma once
// The Pareto frontier of sweep points (more throughput and more accuracy are both better) and
// the recommendation: the fastest point whose accuracy reaches a floor.
#include <cstddef>
#include <optional>
#include <vector>

namespace kvwb {

struct TradeoffPoint {
  double throughput = 0;  // tokens per second
  double accuracy = 0;    // relative to full KV (1 = as good); NaN = unknown
};

// frontier[i] is true when no other point is at least as fast and at least as accurate while
// strictly better in one of the two. Equal points are all on the frontier; a point with an
// unknown accuracy never is (and dominates nothing).
std::vector<bool> pareto_frontier(const std::vector<TradeoffPoint>& points);

// The fastest point with accuracy >= min_accuracy; among equally fast ones the more accurate,
// then the first. nullopt when no point reaches the floor. The point chosen is always on the
// frontier.
std::optional<size_t> recommend(const std::vector<TradeoffPoint>& points, double min_accuracy);

}  // namespace kvwb
