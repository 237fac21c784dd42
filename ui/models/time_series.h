#pragma once
// A live plot series with bounded memory. The newest `recent` points are kept as they came
// (full detail where the followed time axis looks); older points are folded into a history of
// equal-width bins (each the weighted mean, or the max, of `stride` raw points). When the
// history fills its capacity, neighbouring bins merge and the stride doubles, so an hour-long
// run still shows its whole course evenly in at most capacity + recent points.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace kvwb {

class TimeSeries {
 public:
  enum class Merge { Mean, Max };  // Max keeps peaks visible (memory in use), Mean keeps averages
  explicit TimeSeries(size_t capacity = 4096, size_t recent = 1024, Merge merge = Merge::Mean);

  // A point at time t (not before the last point's time; earlier times are clamped to it).
  void append(double t, double value);
  void clear();

  // The points to draw, oldest first: history bins, then the open bin, then the recent points.
  const std::vector<double>& keys() const;
  const std::vector<double>& values() const;
  size_t size() const { return keys().size(); }
  bool empty() const { return raw_count_ == 0; }
  uint64_t raw_count() const { return raw_count_; }  // points appended since clear()
  uint64_t stride() const { return stride_; }        // raw points per history bin
  // Changes on every append/clear: a plot copies the data only when this moved.
  uint64_t revision() const { return revision_; }
  double last_key() const;
  double last_value() const;
  // Max of the drawn values with keys in [from, to]; `fallback` when none.
  double max_in(double from, double to, double fallback) const;

 private:
  struct Bin {
    double key = 0, value = 0;
    uint64_t weight = 0;
  };
  void fold(const Bin& raw);  // a point leaving the recent window enters the history
  void add_to(Bin& bin, const Bin& raw) const;
  void rebuild_view() const;

  size_t capacity_, recent_;
  Merge merge_;
  std::vector<Bin> history_;  // every bin holds exactly stride_ raw points
  Bin open_;                  // the bin being filled (weight < stride_)
  std::deque<Bin> recent_points_;
  uint64_t stride_ = 1;
  uint64_t raw_count_ = 0;
  uint64_t revision_ = 0;
  mutable uint64_t view_revision_ = ~uint64_t{0};
  mutable std::vector<double> view_keys_, view_values_;
};

}  // namespace kvwb
