#include "ui/controller/run_loop.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"
#include "engine/workload/workload.h"
#include "profiler/clock.h"
#include "run/session_recording.h"
#include "ui/controller/config_diff.h"

namespace kvwb {

RunLoop::RunLoop(RunConfig config, std::shared_ptr<ModelCache> models, RunLoopOptions options)
    : config_(std::move(config)),
      models_(std::move(models)),
      options_(options),
      generated_rate_(options.rate_window_seconds),
      total_rate_(options.rate_window_seconds) {}


void RunLoop::set_state(RunState state, int64_t steps_done) {
  if (events_.state) events_.state(state, steps_done);
}

void RunLoop::pause() {
  std::lock_guard lock(mutex_);
  pause_ = true;
}

void RunLoop::resume() {
  {
    std::lock_guard lock(mutex_);
    pause_ = false;
  }
  wake_.notify_all();
}

void RunLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
}

void RunLoop::update_config(const RunConfig& config) {
  std::lock_guard lock(mutex_);
  pending_config_ = config;
}

void RunLoop::run(RunLoopEvents events) {
  events_ = std::move(events);
  set_state(RunState::Loading, 0);
  std::unique_ptr<Run> run;
  try {
    // The workload is read once: per-task totals for the accuracy table ("3 of 8 done"), then the run.
    std::vector<Request> requests = load_run_requests(config_);
    for (const Request& r : requests) ++task_totals_[r.task];
    run = std::make_unique<Run>(config_, std::move(requests), models_->get(config_.model), options_.decorate_backend);
  } catch (const std::exception& e) {
    if (events_.failed) events_.failed(e.what());
    set_state(RunState::Failed, 0);
    return;
  }
  set_state(RunState::Running, 0);
  try {
    for (const std::string& id : run->traced_ids()) {
      RequestResult prompt_only;  // the prompt's tokens with their text, before any output
      prompt_only.id = id;
      prompt_only.prompt_ids = run->prompt_of(id);
      const Request& r = run->request(id);
      pending_.traced.push_back({request_tokens_of(prompt_only, *run->model().tokenizer), r.task, r.answers, false});
    }
    while (between_steps(*run) && !run->done()) {
      const double now = now_seconds();
      if (now - last_retention_ >= options_.retention_interval_seconds) {
        run->engine().request_retention_snapshot();
        last_retention_ = now;
      }
      RunStep step = run->step();
      ++steps_done_;
      record_step(*run, std::move(step));
      if (now_seconds() - last_emit_ >= 1.0 / options_.max_snapshots_per_second) emit_snapshot(*run);
    }
  } catch (const std::exception& e) {
    emit_snapshot(*run);
    if (events_.failed) events_.failed(e.what());
    set_state(RunState::Failed, steps_done_);
    return;
  }
  emit_snapshot(*run);
  set_state(run->done() ? RunState::Finished : RunState::Stopped, steps_done_);
}

bool RunLoop::between_steps(Run& run) {
  std::unique_lock lock(mutex_);
  if (stop_) return false;
  if (pause_) {
    lock.unlock();
    emit_snapshot(run);  // the GUI shows everything up to the pause
    set_state(RunState::Paused, steps_done_);
    lock.lock();
    wake_.wait(lock, [&] { return !pause_ || stop_; });
    if (stop_) return false;
    lock.unlock();
    set_state(RunState::Running, steps_done_);
    lock.lock();
  }
  std::optional<RunConfig> update = std::exchange(pending_config_, std::nullopt);
  lock.unlock();
  if (update) {
    // What defines the run stays as it started (the next start takes it); the live fields apply.
    const RunConfig before = run.config();
    const RunConfig next = apply_live_changes(before, *update).applied;
    try {
      run.update_config(next);
      const std::string text = describe_config_change(before, run.config());
      if (!text.empty()) mark_waiting_for_step_ = ConfigMark{0.0, steps_done_, text};
    } catch (const std::exception& e) {
      if (events_.config_rejected) events_.config_rejected(e.what());
    }
  }
  return true;
}

void RunLoop::record_step(Run& run, RunStep step) {
  const StepStats& s = step.stats;
  const StepPoint p = step_point(s, generated_rate_, total_rate_);
  const double end = p.t;
  pending_.points.push_back(p);
  pending_.elapsed_seconds = end;
  if (mark_waiting_for_step_) {
    mark_waiting_for_step_->t = s.start_seconds;
    mark_waiting_for_step_->step = s.step;
    pending_.marks.push_back(std::move(*mark_waiting_for_step_));
    mark_waiting_for_step_.reset();
  }
  if (!s.retention.empty()) {
    const ModelConfig& m = run.model().config;
    pending_.retention = summarize_retention(s, static_cast<int>(m.num_layers), static_cast<int>(m.num_kv_heads));
    pending_.retention_snapshots.push_back(std::make_shared<const RetentionSnapshot>(RetentionSnapshot{s.step, s.retention}));
  }
  for (const EvictionRecord& e : s.evictions) pending_.evictions.push_back(e);
  const std::vector<std::string>& traced = run.traced_ids();
  for (RequestResult& r : step.finished) {
    if (std::find(traced.begin(), traced.end(), r.id) != traced.end()) {
      pending_.traced.push_back({request_tokens_of(r, *run.model().tokenizer), r.task, r.answers, true});
    }
    pending_.finished.push_back(std::move(r));
  }
}

void RunLoop::emit_snapshot(Run& run) {
  last_emit_ = now_seconds();
  pending_.summary = run.summary();
  pending_.config = run.config();
  pending_.layers = static_cast<int>(run.model().config.num_layers);
  pending_.kv_heads = static_cast<int>(run.model().config.num_kv_heads);
  if (first_snapshot_) {
    pending_.task_totals = task_totals_;
    first_snapshot_ = false;
  }
  RunSnapshot out = std::exchange(pending_, RunSnapshot{});
  if (events_.snapshot) events_.snapshot(std::move(out));
}

}  // namespace kvwb
