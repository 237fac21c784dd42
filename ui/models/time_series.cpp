#include "ui/models/time_series.h"

#include <algorithm>

namespace kvwb {

TimeSeries::TimeSeries(size_t capacity, size_t recent, Merge merge)
    : capacity_(std::max<size_t>(capacity, 2) & ~size_t{1}), recent_(recent), merge_(merge) {
  history_.reserve(capacity_);
}

void TimeSeries::append(double t, double value) {
  if (raw_count_ > 0) t = std::max(t, last_key());
  recent_points_.push_back({t, value, 1});
  ++raw_count_;
  ++revision_;
  while (recent_points_.size() > recent_) {
    fold(recent_points_.front());
    recent_points_.pop_front();
  }
}

void TimeSeries::add_to(Bin& bin, const Bin& raw) const {
  const double w0 = static_cast<double>(bin.weight), w1 = static_cast<double>(raw.weight), w = w0 + w1;
  bin.key = (bin.key * w0 + raw.key * w1) / w;
  if (merge_ == Merge::Max) bin.value = bin.weight == 0 ? raw.value : std::max(bin.value, raw.value);
  else bin.value = (bin.value * w0 + raw.value * w1) / w;
  bin.weight += raw.weight;
}

void TimeSeries::fold(const Bin& raw) {
  add_to(open_, raw);
  if (open_.weight < stride_) return;
  history_.push_back(open_);
  open_ = Bin{};
  if (history_.size() < capacity_) return;
  // Full: merge neighbours, so every bin covers twice as many raw points.
  for (size_t i = 0; i < capacity_ / 2; ++i) {
    Bin merged = history_[2 * i];
    add_to(merged, history_[2 * i + 1]);
    history_[i] = merged;
  }
  history_.resize(capacity_ / 2);
  stride_ *= 2;
}

void TimeSeries::clear() {
  history_.clear();
  open_ = Bin{};
  recent_points_.clear();
  stride_ = 1;
  raw_count_ = 0;
  ++revision_;
}

void TimeSeries::rebuild_view() const {
  if (view_revision_ == revision_) return;
  view_revision_ = revision_;
  view_keys_.clear();
  view_values_.clear();
  auto put = [&](const Bin& b) {
    view_keys_.push_back(b.key);
    view_values_.push_back(b.value);
  };
  for (const Bin& b : history_) put(b);
  if (open_.weight > 0) put(open_);
  for (const Bin& b : recent_points_) put(b);
}

const std::vector<double>& TimeSeries::keys() const {
  rebuild_view();
  return view_keys_;
}

const std::vector<double>& TimeSeries::values() const {
  rebuild_view();
  return view_values_;
}

double TimeSeries::last_key() const {
  if (!recent_points_.empty()) return recent_points_.back().key;
  if (open_.weight > 0) return open_.key;
  return history_.empty() ? 0.0 : history_.back().key;
}

double TimeSeries::last_value() const {
  if (!recent_points_.empty()) return recent_points_.back().value;
  if (open_.weight > 0) return open_.value;
  return history_.empty() ? 0.0 : history_.back().value;
}

double TimeSeries::max_in(double from, double to, double fallback) const {
  const std::vector<double>& k = keys();
  const std::vector<double>& v = values();
  double best = fallback;
  bool any = false;
  for (size_t i = static_cast<size_t>(std::lower_bound(k.begin(), k.end(), from) - k.begin()); i < k.size() && k[i] <= to;
       ++i) {
    best = any ? std::max(best, v[i]) : v[i];
    any = true;
  }
  return best;
}

}  // namespace kvwb
