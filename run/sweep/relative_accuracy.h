#pragma once
// Accuracy of a sweep point relative to the full-KV reference run of the same requests:
// per task, the point's mean score over the reference's mean score (the Batch-Max paper's
// "accuracy relative to full KV"), and fidelity, the share of generated tokens identical to the
// reference's (engine/workload/fidelity.h). Requests are matched by id; only requests present
// in both runs count.
#include <cstdint>
#include <string>
#include <vector>

#include "sessions/session_types.h"

namespace kvwb {

struct TaskRatio {
  std::string task;          // "" = untasked requests
  int64_t count = 0;         // requests scored in both runs
  double point_mean = 0;
  double reference_mean = 0;
  double ratio = 0;          // point_mean / reference_mean; NaN when the reference scores 0
};

struct AccuracyVsReference {
  std::vector<TaskRatio> tasks;  // by task name
  // Mean over the tasks with a ratio (each task weighs the same); NaN when no task has one
  // (no scored requests, or the reference scores 0 everywhere).
  double relative_accuracy = 0;
  double fidelity = 0;   // mean token agreement over common requests; NaN when none
  int64_t compared = 0;  // requests present in both runs
};

AccuracyVsReference compare_to_reference(const std::vector<SessionResult>& point,
                                         const std::vector<SessionResult>& reference);

}  // namespace kvwb
