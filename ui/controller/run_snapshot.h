#pragma once
// The values a running engine sends to the GUI (STYLE.md: typed values, never pointers into
// live state). A worker coalesces the steps run since its previous report into one snapshot,
// so the GUI thread receives at most a few dozen of these per second whatever the step rate.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <QMetaType>

#include "engine/config/run_config.h"
#include "run/run.h"
#include "sessions/session_types.h"

namespace kvwb {

enum class RunState { Idle, Loading, Running, Paused, Finished, Stopped, Failed };

const char* run_state_name(RunState state);
bool run_state_active(RunState state);  // Loading, Running or Paused

// One engine step as the time plots draw it. `t` is the end of the step in seconds since the
// engine started (the shared time axis); rates are averaged over a short trailing window.
struct StepPoint {
  double t = 0;
  int64_t step = 0;
  double generated_per_second = 0;  // decode tokens per second
  double total_per_second = 0;      // prefill + decode tokens per second
  int64_t batch = 0;
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t blocks_used = 0;
  int64_t blocks_total = 0;
  int64_t kv_bytes_used = 0;
  int64_t kv_slots_used = 0;  // cached tokens over layers and KV heads; < 0: not recorded (an old session)
  int64_t evicted_slots = 0;
  int64_t preemptions = 0;
};

// Mean retained tokens per (layer, KV head) over the running sequences at one step.
struct RetentionSummary {
  int64_t step = 0;
  int layers = 0;
  int kv_heads = 0;
  int64_t sequences = 0;
  std::vector<double> mean_retained;  // [layer * kv_heads + head]
  std::vector<int32_t> max_retained;  // [layer * kv_heads + head]
};

// A configuration change as it took effect: the first step that ran under it.
struct ConfigMark {
  double t = 0;
  int64_t step = 0;
  std::string text;  // e.g. "policy h2o -> snapkv, budget_tokens 512 -> 256"
};

// A traced request (trace_sequences) as the token view shows it: its tokens with their text
// (the prompt at first; prompt and output once it finished), task and reference answers.
struct TracedRequest {
  RequestTokens tokens;
  std::string task;
  std::vector<std::string> answers;
  bool finished = false;
};

struct RunSnapshot {
  std::vector<StepPoint> points;          // every step since the previous snapshot
  std::vector<RequestResult> finished;    // requests that completed since the previous snapshot
  std::vector<ConfigMark> marks;          // config changes applied since the previous snapshot
  std::optional<RetentionSummary> retention;  // the latest retention summary, when one was taken
  // Every retention snapshot taken since the previous report, positions included (the live
  // eviction map). Shared: the GUI only reads them.
  std::vector<std::shared_ptr<const RetentionSnapshot>> retention_snapshots;
  RunSummary summary;                     // the run so far
  RunConfig config;                       // the config in force now
  std::map<std::string, int64_t> task_totals;  // requests per task in the workload (first snapshot)
  // The traced requests: each once with its prompt (first snapshot), again when it finished.
  std::vector<TracedRequest> traced;
  std::vector<EvictionRecord> evictions;  // every decision on a traced request since the previous snapshot
  int layers = 0, kv_heads = 0;           // the model's grid (every snapshot)
  double elapsed_seconds = 0;             // engine time at the last step
};

// Summarizes a step's retention snapshot (empty `retention` gives nullopt).
std::optional<RetentionSummary> summarize_retention(const StepStats& stats, int layers, int kv_heads);
// The same for the retained slots of one step (a recorded snapshot); with `request_id`, only
// that sequence's heads (nullopt when it has none at this step).
std::optional<RetentionSummary> summarize_retention(int64_t step, const std::vector<HeadRetention>& heads, int layers,
                                                    int kv_heads, const std::string& request_id = {});

class RateWindow;
// One step as the time plots draw it; the rates come from the trailing windows, which take the
// step's tokens first. The live run and a reopened session both go through here.
StepPoint step_point(const StepStats& stats, RateWindow& generated, RateWindow& total);

// KV memory of a step in bytes and tokens both: "KV 40 / 1000 blocks (2.5 MiB, 634 tokens)"
// (the tokens left out for a session that did not record them). The status bar and the memory
// plot's tooltip say it.
std::string kv_memory_text(const StepPoint& point);

}  // namespace kvwb

Q_DECLARE_METATYPE(kvwb::RunSnapshot)
Q_DECLARE_METATYPE(kvwb::RunState)
