#include "ui/models/run_series.h"

#include <algorithm>
#include <cmath>

namespace kvwb {

RunSeries::RunSeries(size_t capacity, size_t recent, size_t max_marks)
    : generated_per_second(capacity, recent),
      total_per_second(capacity, recent),
      running(capacity, recent),
      waiting(capacity, recent),
      blocks_used(capacity, recent, TimeSeries::Merge::Max),  // a peak must stay visible
      blocks_total(capacity, recent),
      accuracy(capacity, recent),
      fraction_of_full(capacity, recent),
      capacity_(capacity),
      recent_(recent),
      max_marks_(max_marks) {}

void RunSeries::add(const RunSnapshot& s) {
  for (const StepPoint& p : s.points) {
    generated_per_second.append(p.t, p.generated_per_second);
    total_per_second.append(p.t, p.total_per_second);
    running.append(p.t, static_cast<double>(p.running));
    waiting.append(p.t, static_cast<double>(p.waiting));
    blocks_used.append(p.t, static_cast<double>(p.blocks_used));
    blocks_total.append(p.t, static_cast<double>(p.blocks_total));
    last_time_ = std::max(last_time_, p.t);
    last_point_ = p;
    has_points_ = true;
  }
  for (const ConfigMark& m : s.marks) marks.push_back(m);
  if (marks.size() > max_marks_) marks.erase(marks.begin(), marks.end() - static_cast<std::ptrdiff_t>(max_marks_));
}

void RunSeries::add_accuracy(double t, double mean_score, double fraction) {
  accuracy.append(t, mean_score);
  if (std::isfinite(fraction)) fraction_of_full.append(t, fraction);
}

void RunSeries::add_task_accuracy(double t, const std::string& task, double mean_score, double fraction) {
  if (std::isnan(mean_score)) return;
  task_accuracy.try_emplace(task, capacity_, recent_).first->second.append(t, mean_score);
  if (std::isfinite(fraction)) task_fraction_of_full.try_emplace(task, capacity_, recent_).first->second.append(t, fraction);
}

void RunSeries::clear() {
  task_accuracy.clear();
  task_fraction_of_full.clear();
  for (TimeSeries* s : {&generated_per_second, &total_per_second, &running, &waiting, &blocks_used, &blocks_total,
                        &accuracy, &fraction_of_full}) {
    s->clear();
  }
  marks.clear();
  last_time_ = 0;
  last_point_ = StepPoint{};
  has_points_ = false;
}

}  // namespace kvwb
