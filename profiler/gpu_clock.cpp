#include "profiler/gpu_clock.h"

namespace kvwb {

int64_t clock_offset_ns(std::span<const ClockSample> samples) {
  const ClockSample* best = nullptr;
  for (const ClockSample& s : samples) {
    if (best == nullptr ||
        s.host_after_ns - s.host_before_ns < best->host_after_ns - best->host_before_ns) {
      best = &s;
    }
  }
  if (best == nullptr) return 0;
  // before + (after - before) / 2 avoids overflowing the sum of two large times.
  const int64_t midpoint = best->host_before_ns + (best->host_after_ns - best->host_before_ns) / 2;
  return midpoint - static_cast<int64_t>(best->device_ns);
}

}  // namespace kvwb
