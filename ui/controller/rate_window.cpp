#include "ui/controller/rate_window.h"

namespace kvwb {

void RateWindow::add(double start, double end, double amount) {
  steps_.push_back({start, end, amount});
  while (steps_.size() > 1 && steps_.front().end < end - window_) steps_.pop_front();
}

double RateWindow::rate() const {
  if (steps_.empty()) return 0.0;
  const double span = steps_.back().end - steps_.front().start;
  if (span <= 0) return 0.0;
  double total = 0;
  for (const Entry& e : steps_) total += e.amount;
  return total / span;
}

}  // namespace kvwb
