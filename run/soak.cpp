#include "run/soak.h"

#include <dirent.h>

#include <chrono>
#include <memory>
#include <sstream>

#include "engine/core/error.h"
#include "profiler/step_counters.h"
#include "run/run.h"
#include "run/session_recording.h"

namespace kvwb {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

int64_t open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

SoakReport run_soak(const SoakOptions& options, const std::function<void(const SoakSample&)>& on_sample) {
  if (options.config.record.empty()) fail("soak", "the config records nowhere: set record to a session database");
  if (options.budgets.empty()) fail("soak", "no budgets to cycle through");
  SoakReport report;
  const Clock::time_point start = Clock::now();
  double next_change = options.budget_change_seconds;
  double next_sample = 0;
  size_t change_index = 0;
  std::shared_ptr<const Model> model;
  int64_t blocks_used = 0;
  // The next run starts from the last live config, so a budget change holds across runs as it
  // would in a long-lived server, not only until the workload runs out.
  RunConfig live = options.config;

  while (since(start) < options.seconds) {
    // One run of the workload; the next starts as soon as it is done.
    Run run(live, model);
    model = run.shared_model();
    RecordingOptions recording_options;
    recording_options.name = "soak run " + std::to_string(report.runs);
    RunRecording recording(run, options.config.record, recording_options);
    ++report.runs;
    live = run.config();
    while (!run.done() && since(start) < options.seconds) {
      const StepStats s = run.step().stats;
      ++report.steps;
      blocks_used = s.blocks_used;
      report.requests += s.finished;
      const double t = since(start);
      if (t >= next_change) {
        next_change = t + options.budget_change_seconds;
        RunConfig changed = live;
        changed.policy.budget_tokens = options.budgets[change_index++ % options.budgets.size()];
        ++report.budget_changes;
        try {
          run.update_config(changed);
          recording.config_changed(changed);
          live = changed;
        } catch (const Error&) {
          ++report.refused_changes;  // the engine keeps the old config: a documented outcome
        }
      }
      if (t >= next_sample) {
        next_sample = t + options.sample_seconds;
        SoakSample sample;
        sample.seconds = t;
        sample.steps = report.steps;
        sample.requests = report.requests;
        sample.runs = report.runs;
        sample.rss_bytes = process_rss_bytes().value_or(-1);
        sample.open_fds = open_fd_count();
        sample.kv_blocks_used = blocks_used;
        sample.budget_tokens = live.policy.budget_tokens.value_or(0);
        report.samples.push_back(sample);
        if (on_sample) on_sample(sample);
      }
    }
    recording.finish();
    report.dropped_items += recording.dropped();
  }
  return report;
}

double soak_growth(const std::vector<SoakSample>& samples, double warmup_seconds, int64_t SoakSample::*field) {
  std::vector<double> v;
  for (const SoakSample& s : samples) {
    if (s.seconds >= warmup_seconds) v.push_back(static_cast<double>(s.*field));
  }
  const size_t third = v.size() / 3;
  if (third == 0) return 0;
  double first = 0, last = 0;
  for (size_t i = 0; i < third; ++i) {
    first += v[i];
    last += v[v.size() - third + i];
  }
  return (last - first) / static_cast<double>(third);
}

std::string soak_csv(const std::vector<SoakSample>& samples) {
  std::ostringstream out;
  out << "seconds,steps,requests,runs,rss_bytes,open_fds,kv_blocks_used,budget_tokens\n";
  for (const SoakSample& s : samples) {
    out << s.seconds << ',' << s.steps << ',' << s.requests << ',' << s.runs << ',' << s.rss_bytes << ','
        << s.open_fds << ',' << s.kv_blocks_used << ',' << s.budget_tokens << '\n';
  }
  return out.str();
}

}  // namespace kvwb
