#include "ui/controller/run_snapshot.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include "ui/controller/rate_window.h"

namespace kvwb {

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::Idle: return "idle";
    case RunState::Loading: return "loading";
    case RunState::Running: return "running";
    case RunState::Paused: return "paused";
    case RunState::Finished: return "finished";
    case RunState::Stopped: return "stopped";
    case RunState::Failed: return "failed";
  }
  return "?";
}

bool run_state_active(RunState state) {
  return state == RunState::Loading || state == RunState::Running || state == RunState::Paused;
}

std::optional<RetentionSummary> summarize_retention(const StepStats& stats, int layers, int kv_heads) {
  return summarize_retention(stats.step, stats.retention, layers, kv_heads);
}

std::optional<RetentionSummary> summarize_retention(int64_t step, const std::vector<HeadRetention>& heads, int layers,
                                                    int kv_heads, const std::string& request_id) {
  if (heads.empty() || layers <= 0 || kv_heads <= 0) return std::nullopt;
  RetentionSummary r;
  r.step = step;
  r.layers = layers;
  r.kv_heads = kv_heads;
  const size_t cells = static_cast<size_t>(layers) * static_cast<size_t>(kv_heads);
  std::vector<double> sum(cells, 0.0);
  std::vector<int64_t> count(cells, 0);
  r.max_retained.assign(cells, 0);
  std::set<std::string> sequences;
  for (const HeadRetention& h : heads) {
    if (!request_id.empty() && h.request_id != request_id) continue;
    if (h.layer < 0 || h.layer >= layers || h.head < 0 || h.head >= kv_heads) continue;
    const size_t cell = static_cast<size_t>(h.layer) * static_cast<size_t>(kv_heads) + static_cast<size_t>(h.head);
    sum[cell] += h.length;
    ++count[cell];
    r.max_retained[cell] = std::max(r.max_retained[cell], h.length);
    sequences.insert(h.request_id);
  }
  if (sequences.empty()) return std::nullopt;
  r.sequences = static_cast<int64_t>(sequences.size());
  r.mean_retained.resize(cells);
  for (size_t i = 0; i < cells; ++i) r.mean_retained[i] = count[i] > 0 ? sum[i] / static_cast<double>(count[i]) : 0.0;
  return r;
}

StepPoint step_point(const StepStats& s, RateWindow& generated, RateWindow& total) {
  const double end = s.start_seconds + s.wall_seconds;
  generated.add(s.start_seconds, end, static_cast<double>(s.decode_tokens));
  total.add(s.start_seconds, end, static_cast<double>(s.decode_tokens + s.prefill_tokens));
  StepPoint p;
  p.t = end;
  p.step = s.step;
  p.generated_per_second = generated.rate();
  p.total_per_second = total.rate();
  p.batch = s.batch_size;
  p.running = s.running;
  p.waiting = s.waiting;
  p.blocks_used = s.blocks_used;
  p.blocks_total = s.blocks_total;
  p.kv_bytes_used = s.kv_bytes_used;
  p.kv_slots_used = s.kv_slots_used;
  p.evicted_slots = s.evicted_slots;
  p.preemptions = s.preemptions;
  return p;
}

std::string kv_memory_text(const StepPoint& p) {
  std::string text = fmt::format("KV {} / {} blocks ({:.1f} MiB", p.blocks_used, p.blocks_total,
                                 static_cast<double>(p.kv_bytes_used) / (1024.0 * 1024.0));
  if (p.kv_slots_used >= 0) text += fmt::format(", {} tokens", p.kv_slots_used);
  return text + ")";
}

}  // namespace kvwb
