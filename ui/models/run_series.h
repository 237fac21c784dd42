#pragma once
// Everything the live time plots draw for one run, fed from controller snapshots: bounded
// series on the shared time axis (seconds since the run's engine started) and the marks
// left by live config changes. Qt-free; the plots read it on every frame.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "ui/controller/run_snapshot.h"
#include "ui/models/time_series.h"

namespace kvwb {

class RunSeries {
 public:
  explicit RunSeries(size_t capacity = 4096, size_t recent = 1024, size_t max_marks = 256);

  void add(const RunSnapshot& snapshot);
  // Accuracy so far (mean score in [0, 1]) and, when a full-KV reference exists, the same as a
  // fraction of the reference's accuracy on the same requests (may exceed 1).
  void add_accuracy(double t, double mean_score, double fraction_of_full);
  // The same for one task (NaN score: the task has no scored request yet, nothing is added).
  void add_task_accuracy(double t, const std::string& task, double mean_score, double fraction_of_full);
  void clear();

  TimeSeries generated_per_second, total_per_second;  // tokens/s
  TimeSeries running, waiting;                        // sequences
  TimeSeries blocks_used, blocks_total;               // KV blocks (bytes: last_point().kv_bytes_used)
  TimeSeries accuracy, fraction_of_full;              // in [0, 1] (fraction may pass 1)
  std::map<std::string, TimeSeries> task_accuracy, task_fraction_of_full;  // by task, as above
  std::vector<ConfigMark> marks;                      // the newest max_marks

  double last_time() const { return last_time_; }
  StepPoint last_point() const { return last_point_; }
  bool has_points() const { return has_points_; }

 private:
  size_t capacity_, recent_, max_marks_;
  double last_time_ = 0;
  StepPoint last_point_;
  bool has_points_ = false;
};

}  // namespace kvwb
