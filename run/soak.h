#pragma once
// A soak run: continuous batching for a fixed wall time with live budget changes and session
// recording on, sampling the process's RSS and open file descriptors, to show that kvwb does
// not grow without bound (docs/reliability.md). When the workload runs out, the next Run of
// the same config starts at once (same loaded model, a new session in the same database), so
// the engine never idles. `kvwb-cli soak` and the CI soak test drive it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/config/run_config.h"

namespace kvwb {

struct SoakOptions {
  RunConfig config;                  // model, workload, policy, pool; `record` must name a database
  double seconds = 120;              // wall time to run
  double budget_change_seconds = 3;  // period of live config changes
  double sample_seconds = 1;         // period of RSS / fd samples
  // Compression budgets (policy.budget_tokens) cycled through by the live changes (the KV pool
  // is fixed for a run); a change the engine refuses (a running request would no longer fit)
  // is counted and the run goes on under the old budget.
  std::vector<int64_t> budgets{48, 96, 64, 128};
};

struct SoakSample {
  double seconds = 0;  // since the soak started
  int64_t steps = 0;   // engine steps so far (all runs)
  int64_t requests = 0;  // requests finished so far
  int64_t runs = 0;      // runs started so far
  int64_t rss_bytes = 0;
  int64_t open_fds = 0;
  int64_t kv_blocks_used = 0;
  int64_t budget_tokens = 0;  // in force at the sample
};

struct SoakReport {
  std::vector<SoakSample> samples;
  int64_t steps = 0, requests = 0, runs = 0;
  int64_t budget_changes = 0, refused_changes = 0;
  int64_t dropped_items = 0;  // recorder items dropped (queue full), over all sessions
};

// Runs the soak; on_sample (optional) sees every sample as it is taken.
SoakReport run_soak(const SoakOptions& options, const std::function<void(const SoakSample&)>& on_sample = {});

// The number of open file descriptors of this process (entries of /proc/self/fd).
int64_t open_fd_count();

// Growth of a sampled series after warm-up: the mean of the last third of the samples taken
// after `warmup_seconds` minus the mean of the first third. Zero when fewer than 3 remain.
double soak_growth(const std::vector<SoakSample>& samples, double warmup_seconds,
                   int64_t SoakSample::*field);

// CSV with a header line: seconds,steps,requests,runs,rss_bytes,open_fds,kv_blocks_used,budget_tokens
std::string soak_csv(const std::vector<SoakSample>& samples);

}  // namespace kvwb
