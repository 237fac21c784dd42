#include "ui/widgets/frame_stats.h"

#include <time.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "profiler/clock.h"

namespace kvwb {
namespace {

constexpr size_t kMaxSamples = 10000;

void keep(std::vector<double>& samples, double v) {
  if (samples.size() >= kMaxSamples) samples.erase(samples.begin());
  samples.push_back(v);
}

double nearest_rank(std::vector<double> s, double p) {
  if (s.empty()) return 0.0;
  std::sort(s.begin(), s.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
  return s[std::clamp<size_t>(rank, 1, s.size()) - 1];
}

}  // namespace

double wall_clock_ms() {
  return 1e3 * now_seconds();
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void FrameStats::add_frame(double wall_ms, double cpu_ms) {
  ++frames_;
  wall_total_ += wall_ms;
  cpu_total_ += cpu_ms;
  wall_max_ = std::max(wall_max_, wall_ms);
  cpu_max_ = std::max(cpu_max_, cpu_ms);
  if (wall_ms > kBudgetMs) ++over_budget_;
  keep(wall_samples_, wall_ms);
  keep(cpu_samples_, cpu_ms);
}

void FrameStats::add_tick(double wall_ms) {
  if (last_tick_ >= 0) max_gap_ = std::max(max_gap_, wall_ms - last_tick_);
  last_tick_ = wall_ms;
}

double FrameStats::percentile_ms(double p) const { return nearest_rank(wall_samples_, p); }

double FrameStats::percentile_cpu_ms(double p) const { return nearest_rank(cpu_samples_, p); }

std::string FrameStats::summary() const {
  return fmt::format(
      "replot frames: {}; wall ms: mean {:.2f}, p50 {:.2f}, p99 {:.2f}, max {:.2f}, over {:.0f} ms: {}; "
      "GUI-thread CPU ms: mean {:.2f}, p99 {:.2f}, max {:.2f}; longest gap between 30 Hz ticks: {:.1f} ms",
      frames_, mean_ms(), percentile_ms(50), percentile_ms(99), wall_max_, kBudgetMs, over_budget_, mean_cpu_ms(),
      percentile_cpu_ms(99), cpu_max_, max_gap_);
}

}  // namespace kvwb
