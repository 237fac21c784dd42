#include "run/sweep/relative_accuracy.h"

#include <limits>
#include <map>

#include "engine/workload/fidelity.h"

namespace kvwb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Sums {
  int64_t count = 0;
  double point = 0, reference = 0;
};

}  // namespace

AccuracyVsReference compare_to_reference(const std::vector<SessionResult>& point,
                                         const std::vector<SessionResult>& reference) {
  std::map<std::string, const SessionResult*> by_id;
  for (const SessionResult& r : reference) by_id[r.id] = &r;
  std::map<std::string, Sums> by_task;
  double agreement = 0;
  AccuracyVsReference out;
  for (const SessionResult& p : point) {
    const auto it = by_id.find(p.id);
    if (it == by_id.end()) continue;
    const SessionResult& ref = *it->second;
    ++out.compared;
    agreement += token_agreement(p.output_tokens, ref.output_tokens);
    if (p.score && ref.score) {
      Sums& s = by_task[p.task];
      ++s.count;
      s.point += *p.score;
      s.reference += *ref.score;
    }
  }
  out.fidelity = out.compared > 0 ? agreement / static_cast<double>(out.compared) : kNaN;
  double ratio_sum = 0;
  int64_t ratios = 0;
  for (const auto& [task, s] : by_task) {
    TaskRatio t;
    t.task = task;
    t.count = s.count;
    t.point_mean = s.point / static_cast<double>(s.count);
    t.reference_mean = s.reference / static_cast<double>(s.count);
    t.ratio = t.reference_mean > 0 ? t.point_mean / t.reference_mean : kNaN;
    if (t.reference_mean > 0) {
      ratio_sum += t.ratio;
      ++ratios;
    }
    out.tasks.push_back(t);
  }
  out.relative_accuracy = ratios > 0 ? ratio_sum / static_cast<double>(ratios) : kNaN;
  return out;
}

}  // namespace kvwb
