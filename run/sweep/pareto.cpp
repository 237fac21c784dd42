#include "run/sweep/pareto.h"

#include <cmath>

namespace kvwb {
namespace {

bool dominates(const TradeoffPoint& a, const TradeoffPoint& b) {
  return a.throughput >= b.throughput && a.accuracy >= b.accuracy &&
         (a.throughput > b.throughput || a.accuracy > b.accuracy);
}

}  // namespace

std::vector<bool> pareto_frontier(const std::vector<TradeoffPoint>& points) {
  std::vector<bool> frontier(points.size(), false);
  for (size_t i = 0; i < points.size(); ++i) {
    if (std::isnan(points[i].accuracy)) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      dominated = j != i && !std::isnan(points[j].accuracy) && dominates(points[j], points[i]);
    }
    frontier[i] = !dominated;
  }
  return frontier;
}

std::optional<size_t> recommend(const std::vector<TradeoffPoint>& points, double min_accuracy) {
  std::optional<size_t> best;
  for (size_t i = 0; i < points.size(); ++i) {
    const TradeoffPoint& p = points[i];
    if (std::isnan(p.accuracy) || p.accuracy < min_accuracy) continue;
    if (!best || p.throughput > points[*best].throughput ||
        (p.throughput == points[*best].throughput && p.accuracy > points[*best].accuracy)) {
      best = i;
    }
  }
  return best;
}

}  // namespace kvwb
