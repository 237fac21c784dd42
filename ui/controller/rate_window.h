#pragma once
// Tokens per second over a trailing time window. A single engine step's rate swings with its
// mix of prefill and decode work; averaging over the last second gives the throughput a user
// can read off a plot, and it still reacts within a second to a budget change.
#include <cstdint>
#include <deque>

namespace kvwb {

class RateWindow {
 public:
  explicit RateWindow(double window_seconds = 1.0) : window_(window_seconds) {}

  // A step that ran over [start, end] and produced `amount` (tokens). Steps arrive in order.
  void add(double start, double end, double amount);
  // Amount per second over the steps that ended within the window before the latest end:
  // their amounts divided by the time from the earliest kept step's start to the latest end.
  double rate() const;
  void clear() { steps_.clear(); }

 private:
  struct Entry {
    double start, end, amount;
  };
  double window_;
  std::deque<Entry> steps_;
};

}  // namespace kvwb
