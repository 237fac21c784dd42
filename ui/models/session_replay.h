#pragma once
// A recorded session as the live panels draw it: the time plots' series built from its steps
// exactly as a live run builds them (the same trailing-window rates), the marks of its config
// changes at the steps they applied from, and the layer x KV-head retention summary of every
// retention snapshot (batch mean, or one sequence). Qt-free; built on the loader's thread.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/runtime/policy.h"
#include "sessions/session_types.h"
#include "ui/models/run_series.h"

namespace kvwb {

// The slots the session's policy protects (sinks, recent tokens, SnapKV's window) in force from
// each config's first step: the session's config, then each change. Derived from the config by
// the policy's own rule (protected_span), since retention data does not say why a slot stayed.
struct ProtectionSchedule {
  std::vector<std::pair<int64_t, ProtectedSpan>> from_step;  // ascending steps
  ProtectedSpan at(int64_t step) const;                       // nothing protected before the first
};
ProtectionSchedule protection_schedule(const nlohmann::json& initial, const std::vector<ConfigChange>& changes);

struct SessionReplay {
  RunSeries series;
  int layers = 0, kv_heads = 0;  // from the retention snapshots and per-head eviction counts
  std::vector<int64_t> retention_steps;      // the snapshots' steps, in order
  std::vector<std::string> request_ids;      // the sequences seen in any snapshot, sorted
  ProtectionSchedule protection;
};

// `session` needs info.config, config_changes and steps; retention fills the grid size. The
// series keep every step (no history merging); the plots decimate when they draw.
void replay_session(const Session& session, SessionReplay& out, double rate_window_seconds = 1.0);

// The marks a session's config changes leave on the time axis (t = the start of the step the
// change applied from; text as the live run writes it).
std::vector<ConfigMark> config_marks(const nlohmann::json& initial, const std::vector<ConfigChange>& changes,
                                     const std::vector<StepStats>& steps);

// The retention summary of snapshot `index` (batch mean, or `request_id` only); nullopt when
// out of range or when that sequence has no heads in it.
std::optional<RetentionSummary> replay_retention(const Session& session, const SessionReplay& replay, size_t index,
                                                 const std::string& request_id = {});

// Retained slots as a fraction of each sequence's context at snapshot `index`, averaged over the
// sequences (or `request_id` only), [layer * kv_heads + head]. A sequence's context is its
// newest retained position + 1 over all its heads: every policy keeps the newest token.
std::vector<double> retention_fraction(const Session& session, const SessionReplay& replay, size_t index,
                                       const std::string& request_id = {});

// One head of one sequence through the snapshots: rows = snapshots 0 .. last_snapshot, columns
// = token positions; kKept where the position is retained at that snapshot (kProtected where,
// given a protection schedule, the policy's sink / recent / window rule protects it in that
// snapshot's context), kEvicted where it is in the context (below the sequence's newest
// position) but gone, NaN where the sequence has no such position yet or was not running.
struct HeadTimeline {
  static constexpr double kEvicted = 0.0, kKept = 1.0, kProtected = 2.0;
  int64_t positions = 0;
  std::vector<int64_t> steps;  // the row's snapshot step
  std::vector<double> cells;   // [row * positions + position]
  double at(size_t row, int64_t position) const;
};
HeadTimeline head_timeline(const std::vector<RetentionSnapshot>& snapshots, const std::string& request_id, int layer,
                           int head, size_t last_snapshot, const ProtectionSchedule* protection = nullptr);
inline HeadTimeline head_timeline(const Session& session, const std::string& request_id, int layer, int head,
                                  size_t last_snapshot, const ProtectionSchedule* protection = nullptr) {
  return head_timeline(session.retention, request_id, layer, head, last_snapshot, protection);
}

// Every head of one sequence at snapshot `index`: rows = layer * kv_heads + head, columns =
// token positions, the same cell values as HeadTimeline (its `steps` holds the one step).
HeadTimeline heads_at_snapshot(const Session& session, const SessionReplay& replay, const std::string& request_id,
                               size_t index, const ProtectionSchedule* protection = nullptr);

}  // namespace kvwb
