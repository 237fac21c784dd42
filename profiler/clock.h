#pragma once
// The span clock: every event time in the profiler is nanoseconds of std::chrono::steady_clock
// (CLOCK_MONOTONIC on Linux). GPU timestamps are mapped onto it (gpu_clock.h).
#include <chrono>
#include <cstdint>

namespace kvwb {

inline int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The same clock in seconds: every elapsed-time measure in kvwb (step times, rates, progress,
// frame times) subtracts two of these.
inline double now_seconds() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace kvwb
