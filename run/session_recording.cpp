#include "run/session_recording.h"

#include <fstream>
#include <map>
#include <thread>

#include "engine/core/error.h"
#include "run/run_report.h"
#include "sessions/eviction_map_builder.h"

namespace kvwb {

struct RunRecording::State {
  Run* run = nullptr;
  std::unique_ptr<SessionRecorder> recorder;
  int64_t retention_every = 0;
  int64_t next_step = 0;
  int64_t step_observer = 0, trace_observer = 0;  // detached by finish() or the destructor
  std::map<std::string, EvictionMapBuilder> eviction_maps;  // traced requests still running

  void on_step(const RunStep& step) {
    recorder->record_step(step.stats);
    for (const EvictionRecord& e : step.stats.evictions) {
      eviction_maps.try_emplace(e.request_id, e.request_id).first->second.add(e);
    }
    next_step = step.stats.step + 1;
    for (const RequestResult& r : step.finished) write_result(r);
    if (retention_every > 0 && next_step % retention_every == 0) run->engine().request_retention_snapshot();
  }

  void write_result(const RequestResult& r) {
    recorder->record_result(session_result(r));
    recorder->record_tokens(request_tokens_of(r, *run->model().tokenizer));
    // A finished traced request's map is complete: its context is the prompt and output.
    auto it = eviction_maps.find(r.id);
    if (it != eviction_maps.end()) {
      const auto context = r.prompt_tokens + static_cast<int64_t>(r.output_tokens.size());
      recorder->record_eviction_map(it->second.build(next_step - 1, context));
      eviction_maps.erase(it);
    }
  }

  void detach() {
    run->remove_observer(step_observer);
    run->remove_observer(trace_observer);
    step_observer = trace_observer = 0;
  }
  bool attached() const { return step_observer != 0; }
};

SessionResult session_result(const RequestResult& r) {
  SessionResult s;
  s.id = r.id;
  s.task = r.task;
  s.metric = r.metric;
  s.prompt_tokens = r.prompt_tokens;
  s.output_text = r.output_text;
  s.output_tokens = r.output_tokens;
  if (r.score >= 0) s.score = r.score;
  s.latency_seconds = r.latency_seconds;
  s.first_token_seconds = r.first_token_seconds;
  s.preemptions = r.preemptions;
  s.stopped_at_eos = r.stopped_at_eos;
  return s;
}

RequestTokens request_tokens_of(const RequestResult& r, const Tokenizer& tokenizer) {
  RequestTokens t;
  t.request_id = r.id;
  t.ids.reserve(r.prompt_ids.size() + r.output_tokens.size());
  t.ids.insert(t.ids.end(), r.prompt_ids.begin(), r.prompt_ids.end());
  t.ids.insert(t.ids.end(), r.output_tokens.begin(), r.output_tokens.end());
  t.prompt_tokens = static_cast<int64_t>(r.prompt_ids.size());
  t.pieces.reserve(t.ids.size());
  for (const int32_t& id : t.ids) t.pieces.push_back(tokenizer.decode_raw(std::span<const int32_t>(&id, 1)));
  return t;
}

std::function<void(int64_t, int64_t, int64_t)> session_write_spans(Profiler& profiler) {
  return [&profiler, named = false](int64_t items, int64_t start_ns, int64_t end_ns) mutable {
    if (!profiler.enabled()) return;
    try {
      if (!named) {  // the writer thread's own track
        profiler.name_this_thread("session writer");
        named = true;
      }
      SpanRecord r{"session write", Category::sessions, 1, start_ns, end_ns, profiler.step(), {{"items", items}}};
      profiler.record_span(r);
    } catch (...) {
      // Out of memory for one span: the session itself is written, only its timing is lost.
    }
  };
}

std::string cpu_device_description(int threads) {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "CPU";
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 2);
      break;
    }
  }
  const int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  return fmt::format("{}, {} threads", model, n);
}

RunRecording::RunRecording(Run& run, const std::string& db_path, const RecordingOptions& options)
    : state_(std::make_unique<State>()) {
  const RunConfig& config = run.config();
  NewSession session;
  session.name = options.name;
  session.description = options.description;
  session.model = config.random_weights.empty() ? config.model : "random weights: " + config.random_weights;
  session.backend = config.backend;
  session.device = config.backend == "cpu" ? cpu_device_description(config.threads) : config.backend;
  nlohmann::json initial = run_config_to_json(config);
  initial["record"] = nullptr;  // where it was recorded is not part of the run's config
  session.config = std::move(initial);
  state_->run = &run;
  RecorderOptions recorder_options = options.recorder;
  if (Profiler* profiler = run.profiler(); profiler != nullptr && !recorder_options.on_commit) {
    recorder_options.on_commit = session_write_spans(*profiler);
  }
  state_->recorder = std::make_unique<SessionRecorder>(db_path, session, recorder_options);
  state_->retention_every = options.retention_every;
  if (state_->retention_every > 0) run.engine().request_retention_snapshot();  // step 0

  State* state = state_.get();
  state->step_observer = run.add_step_observer([state](const RunStep& step) { state->on_step(step); });
  // A profiled run's events (spans, counters, instants of every step) go into the session too.
  state->trace_observer =
      run.add_trace_observer([state](const std::shared_ptr<const Trace>& trace) { state->recorder->record_trace(trace); });
}

RunRecording::~RunRecording() {
  if (state_->attached()) {
    state_->detach();
    state_->recorder.reset();  // commits the queue, marks the session interrupted
  }
}

void RunRecording::config_changed(const RunConfig& config) {
  if (!state_->attached()) return;
  nlohmann::json j = run_config_to_json(config);
  j["record"] = nullptr;
  state_->recorder->record_config_change(state_->next_step, j);
}

void RunRecording::finish() {
  if (!state_->attached()) fail(path(), "session {} was already finished", session_id());
  for (const auto& [id, builder] : state_->eviction_maps) {  // traced requests that never finished
    state_->recorder->record_eviction_map(builder.build(state_->next_step - 1, 0));
  }
  state_->eviction_maps.clear();
  if (state_->run->profiling()) {
    // The writer's commits are spans of the run's profiler: the last ones come after the last
    // step. Commit what is queued, then hand its spans on, so the session holds its own writes.
    state_->recorder->flush();
    state_->run->flush_trace();
  }
  state_->detach();
  state_->recorder->finish(summary_to_json(state_->run->summary()));
}

int64_t RunRecording::session_id() const { return state_->recorder->session_id(); }
const std::string& RunRecording::path() const { return state_->recorder->path(); }
int64_t RunRecording::dropped() const { return state_->recorder->dropped(); }

}  // namespace kvwb
