#include "profiler/event.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <utility>

namespace kvwb {
namespace {

constexpr std::array<std::pair<Category, std::string_view>, 11> kCategoryNames{{
    {Category::step, "step"},
    {Category::op, "op"},
    {Category::kernel, "kernel"},
    {Category::memcpy, "memcpy"},
    {Category::memset, "memset"},
    {Category::memory, "memory"},
    {Category::policy, "policy"},
    {Category::compaction, "compaction"},
    {Category::scheduler, "scheduler"},
    {Category::sessions, "sessions"},
    {Category::config, "config"},
}};

}  // namespace

std::string_view category_name(Category category) {
  for (const auto& [value, name] : kCategoryNames) {
    if (value == category) return name;
  }
  return "unknown";
}

std::optional<Category> parse_category(std::string_view name) {
  for (const auto& [value, text] : kCategoryNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

const ArgValue* Span::arg(std::string_view key) const {
  for (const Arg& a : args) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

void Trace::append(Trace&& later) {
  if (spans.empty() && counters.empty() && instants.empty() && tracks.empty()) {
    origin_ns = later.origin_ns;
  }
  // Both runs are sorted (take() sorts): merging keeps appends linear in the trace size.
  const auto middle = static_cast<std::ptrdiff_t>(spans.size());
  spans.insert(spans.end(), std::make_move_iterator(later.spans.begin()),
               std::make_move_iterator(later.spans.end()));
  std::inplace_merge(spans.begin(), spans.begin() + middle, spans.end(), span_order);
  counters.insert(counters.end(), std::make_move_iterator(later.counters.begin()),
                  std::make_move_iterator(later.counters.end()));
  instants.insert(instants.end(), std::make_move_iterator(later.instants.begin()),
                  std::make_move_iterator(later.instants.end()));
  for (TrackName& named : later.tracks) {
    auto same = std::find_if(tracks.begin(), tracks.end(),
                             [&](const TrackName& t) { return t.track == named.track; });
    if (same == tracks.end()) {
      tracks.push_back(std::move(named));
    } else {
      same->name = std::move(named.name);  // a later rename wins
    }
  }
  dropped_events += later.dropped_events;
}

Trace concat_traces(std::vector<Trace>&& batches) {
  Trace out;
  size_t total = 0;
  for (const Trace& b : batches) total += b.spans.size();
  std::vector<Span> spans;
  spans.reserve(total);
  for (Trace& b : batches) {
    spans.insert(spans.end(), std::make_move_iterator(b.spans.begin()), std::make_move_iterator(b.spans.end()));
    b.spans.clear();
    out.append(std::move(b));  // origin, counters, instants, track names, dropped: no spans to merge
  }
  sort_spans(spans);
  out.spans = std::move(spans);
  return out;
}

std::string Trace::track_name(const Track& track) const {
  for (const TrackName& named : tracks) {
    if (named.track == track) return named.name;
  }
  if (track.kind == Track::Kind::gpu_stream) {
    return fmt::format("GPU {} stream {}", track.device, track.id);
  }
  return fmt::format("thread {}", track.id);
}

bool span_order(const Span& a, const Span& b) {
  if (a.track != b.track) return a.track < b.track;
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  return a.end_ns > b.end_ns;
}

void sort_spans(std::vector<Span>& spans) { std::stable_sort(spans.begin(), spans.end(), span_order); }

}  // namespace kvwb
