#pragma once
// Replot cost of the live plots, measured on the GUI thread. A frame is one timer tick's data
// update plus the replots it queued. Both clocks are kept: wall time is what the user waits
// for (it includes time the thread spent preempted on a busy machine), this thread's CPU time
// is what drawing costs.
#include <cstdint>
#include <string>
#include <vector>

namespace kvwb {

// Milliseconds on a monotonic wall clock and on the calling thread's CPU clock.
double wall_clock_ms();
double thread_cpu_ms();

class FrameStats {
 public:
  static constexpr double kBudgetMs = 50.0;  // no frame over this (30 fps leaves 33 ms per tick)

  void add_frame(double wall_ms, double cpu_ms);
  void add_tick(double wall_ms);  // a timer tick at this wall time, drawn or not

  int64_t frames() const { return frames_; }
  int64_t over_budget() const { return over_budget_; }  // frames whose wall time passed kBudgetMs
  double mean_ms() const { return frames_ > 0 ? wall_total_ / static_cast<double>(frames_) : 0.0; }
  double max_ms() const { return wall_max_; }
  double mean_cpu_ms() const { return frames_ > 0 ? cpu_total_ / static_cast<double>(frames_) : 0.0; }
  double max_cpu_ms() const { return cpu_max_; }
  // Longest wall time between two timer ticks: above 33 ms the GUI thread missed a 30 Hz tick.
  double max_gap_ms() const { return max_gap_; }
  double percentile_ms(double p) const;      // nearest rank over the newest 10000 wall times
  double percentile_cpu_ms(double p) const;  // the same over CPU times
  // One line, as kvwb --frame-stats and bench/gui/replot_bench print it.
  std::string summary() const;

 private:
  int64_t frames_ = 0, over_budget_ = 0;
  double wall_total_ = 0, wall_max_ = 0, cpu_total_ = 0, cpu_max_ = 0;
  double last_tick_ = -1, max_gap_ = 0;
  std::vector<double> wall_samples_, cpu_samples_;
};

}  // namespace kvwb
