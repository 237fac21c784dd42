#pragma once
// Mapping a device clock (CUPTI timestamps, ns) onto the span clock (clock.h). Each sample reads
// the span clock, then the device clock, then the span clock again; the device reading happened
// somewhere inside that window, so its midpoint is the best guess and the narrowest window the
// most precise sample.
#include <cstdint>
#include <span>

namespace kvwb {

struct ClockSample {
  int64_t host_before_ns = 0;
  uint64_t device_ns = 0;
  int64_t host_after_ns = 0;
};

// The offset to add to a device time to get span-clock time, from the sample with the narrowest
// window (the first of equals); 0 for no samples.
int64_t clock_offset_ns(std::span<const ClockSample> samples);

// Reads `count` samples with `read_device_ns` between two reads of now_ns() and returns the
// offset (clock_offset_ns). `read_device_ns` is e.g. a wrapper of cuptiGetTimestamp.
template <typename ReadDevice>
int64_t calibrate_clock_offset(ReadDevice&& read_device_ns, int count = 8);

}  // namespace kvwb

#include "profiler/clock.h"

namespace kvwb {

template <typename ReadDevice>
int64_t calibrate_clock_offset(ReadDevice&& read_device_ns, int count) {
  ClockSample best{};
  int64_t best_window = -1;
  for (int i = 0; i < count; ++i) {
    ClockSample s;
    s.host_before_ns = now_ns();
    s.device_ns = read_device_ns();
    s.host_after_ns = now_ns();
    const int64_t window = s.host_after_ns - s.host_before_ns;
    if (best_window < 0 || window < best_window) {
      best = s;
      best_window = window;
    }
  }
  return best_window < 0 ? 0 : clock_offset_ns(std::span<const ClockSample>(&best, 1));
}

}  // namespace kvwb
