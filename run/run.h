#pragma once
// A Run wires one RunConfig into a working engine: model, backend, KV pool, policy, workload
// requests, and the results with their scores. kvwb-cli, the GUI's controller and sweeps all
// drive runs through this class (profiler and session recording attach here too).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/run_config.h"
#include "engine/model/model.h"
#include "engine/runtime/engine.h"
#include "engine/workload/workload.h"
#include "kernels/backend.h"
#include "kernels/profiled_backend.h"
#include "profiler/gpu_activity.h"
#include "profiler/profiler.h"

namespace kvwb {

struct RequestResult {
  std::string id;
  std::string task;
  std::string metric;
  std::vector<std::string> answers;
  int64_t prompt_tokens = 0;
  int64_t question_tokens = 0;      // the last of prompt_ids, fed after the compression (Request::question)
  std::vector<int32_t> prompt_ids;  // the prompt as fed to the model (chat template applied)
  std::vector<int32_t> output_tokens;
  std::string output_text;
  bool stopped_at_eos = false;
  int64_t preemptions = 0;
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // per output token, with record_top_logprobs
  double score = -1;  // in [0, 1]; -1 when the request has no metric
  double latency_seconds = 0;
  double first_token_seconds = 0;
};

struct TaskScore {
  int64_t count = 0;
  double mean = 0;
};

struct RunSummary {
  int64_t requests = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double wall_seconds = 0;
  double generated_tokens_per_second = 0;
  double total_tokens_per_second = 0;
  double mean_batch = 0;  // sequences per step, over steps that ran a batch
  int64_t max_batch = 0;
  int64_t peak_blocks_used = 0;
  int64_t blocks_total = 0;
  int64_t kv_pool_bytes = 0;
  int64_t preemptions = 0;
  int64_t evicted_slots = 0;
  int64_t guide_tokens = 0;  // policy.chunk_guidance: guide tokens fed again with prefill chunks
  double eviction_seconds = 0;  // policy scoring + compaction, summed over steps
  int64_t evicting_steps = 0;          // steps that evicted at least one slot...
  double evicting_steps_seconds = 0;   // ...and their wall time (eviction's share where it happens)
  double evicting_steps_eviction_seconds = 0;
  std::map<std::string, TaskScore> tasks;  // by task name ("" = untasked)
  TaskScore overall;
};

// One step of a Run: the engine's statistics and the requests that finished in it (scored;
// they are in results() too).
struct RunStep {
  StepStats stats;
  std::vector<RequestResult> finished;
};

// Wraps the backend a Run builds before its engine sees it; the decorator forwards every call
// to `inner` (which outlives it inside the Run). A test hook only: the memory-failure tests pass
// a backend that fails its Nth allocation (tests/runtime/failing_alloc_backend.h). No config or
// flag reaches it. Shared so that the test can read the decorator's books after the Run is gone.
using BackendDecorator = std::function<std::shared_ptr<kernels::Backend>(kernels::Backend& inner)>;

class Run {
 public:
  // Runs the requests of config.workload (the first max_requests of them). Loads the model named
  // in the config, or reuses `model` when given (same model path).
  explicit Run(const RunConfig& config, std::shared_ptr<const Model> model = nullptr);
  // Runs `requests` (config.workload and max_requests are not read): a prompt typed in the GUI,
  // a workload already read. `decorate`, when given, wraps the backend (tests only, above).
  Run(const RunConfig& config, std::vector<Request> requests, std::shared_ptr<const Model> model = nullptr,
      const BackendDecorator& decorate = {});
  ~Run();

  RunStep step();
  bool done() const;
  // Steps until every request finished; progress(done, total) after each step.
  RunSummary run_to_completion(const std::function<void(int64_t, int64_t)>& progress = {});

  void update_config(const RunConfig& config);  // between steps; errors leave the run unchanged

  // Profiling (kvwb-cli --trace / --profile, the GUI's timeline): from the next step on, every
  // step records spans (step, scheduler, policy, compaction, every backend op) and per-step
  // counters into a Profiler. On the cuda backend it also starts CUPTI GPU activity where it can
  // (gpu_activity_message() says why not); GPU activity is flushed at every step end. Calling
  // it again changes nothing. The RunConfig is untouched: profiling is not a tunable.
  void enable_profiling(const ProfilerOptions& options = {});
  // Each generated token from now on carries the k most likely next tokens with their
  // log-probabilities (RequestResult::top_logprobs; `eval --top-logprobs K`). Like profiling,
  // a measurement and not a tunable: the RunConfig is untouched.
  void record_top_logprobs(int64_t k) { engine_->record_top_logprobs(k); }
  // Every request generates its max_new_tokens, past the end-of-sequence token: the shape of
  // llama.cpp's batched-bench (`eval --ignore-eos`, bench/cpu_throughput.sh). A measurement
  // option too; call it before the first step.
  void generate_past_eos();
  bool profiling() const { return profiler_ != nullptr; }
  Profiler* profiler() { return profiler_.get(); }
  // One line saying why GPU activity is not collected on a cuda run; empty otherwise.
  const std::string& gpu_activity_message() const { return gpu_message_; }
  // Everything recorded since the previous take_trace() (empty when not profiling). The trace
  // observers are handed what they have not seen yet first, so they miss nothing.
  Trace take_trace();
  // Hands the trace observers what the profiler recorded since the last step (work of other
  // threads after it, such as a recording's last writes); take_trace() still returns it.
  void flush_trace();
  // Observers: called after every step with what step() returns, once its finished requests
  // are collected. An observer stays until removed with the id add_step_observer returned.
  using StepObserver = std::function<void(const RunStep&)>;
  int64_t add_step_observer(StepObserver observer);
  // Called after every profiled step with what the profiler recorded since the previous call:
  // the step's spans and counters, GPU activity flushed so far, config-change instants. The
  // events are kept for take_trace() too (up to ProfilerOptions::max_events; beyond that they
  // are counted in its dropped_events). The session recording streams them into its database.
  using TraceObserver = std::function<void(const std::shared_ptr<const Trace>&)>;
  int64_t add_trace_observer(TraceObserver observer);
  void remove_observer(int64_t id);  // a step or trace observer; an unknown id changes nothing

  const RunConfig& config() const { return config_; }
  const Model& model() const { return *model_; }
  std::shared_ptr<const Model> shared_model() const { return model_; }
  const std::vector<RequestResult>& results() const { return results_; }
  RunSummary summary() const;
  int64_t total_requests() const { return static_cast<int64_t>(requests_.size()); }
  // The requests of the workload whose eviction decisions the engine reports (trace_sequences;
  // by default the first two), and their prompt tokens as fed to the model.
  const std::vector<std::string>& traced_ids() const { return traced_ids_; }
  const std::vector<int32_t>& prompt_of(const std::string& request_id) const;
  const Request& request(const std::string& request_id) const { return requests_.at(request_index_.at(request_id)); }
  Engine& engine() { return *engine_; }

 private:
  EngineOptions engine_options(const RunConfig& config) const;
  std::vector<RequestResult> collect_finished();
  StepStats profiled_step();
  void pass_on_trace();

  RunConfig config_;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<kernels::Backend> backend_;
  std::shared_ptr<kernels::Backend> decorated_;  // wraps backend_ when a test asked; else empty
  // The engine always runs through this decorator: with no profiler bound it costs a branch.
  std::unique_ptr<kernels::ProfiledBackend> profiled_backend_;
  std::unique_ptr<Engine> engine_;
  std::vector<Request> requests_;
  std::map<std::string, size_t> request_index_;
  std::vector<std::string> traced_ids_;
  std::map<std::string, std::vector<int32_t>> traced_prompts_;  // by traced request id
  std::vector<RequestResult> results_;
  int64_t kv_pool_bytes_ = 0;
  // Accumulated step statistics for the summary.
  int64_t steps_ = 0, batch_steps_ = 0, batch_sum_ = 0, max_batch_ = 0, peak_blocks_ = 0, preemptions_ = 0,
          evicted_ = 0, guide_tokens_ = 0, prompt_tokens_ = 0;
  double wall_ = 0, eviction_seconds_ = 0;
  int64_t evicting_steps_ = 0;
  double evicting_steps_seconds_ = 0, evicting_steps_eviction_seconds_ = 0;
  // Declared after the engine and backend: the GPU collector goes first (it flushes into the
  // profiler), while the CUDA context is still alive.
  std::unique_ptr<Profiler> profiler_;
  int64_t max_trace_events_ = 0;
  std::vector<std::pair<int64_t, StepObserver>> step_observers_;
  std::vector<std::pair<int64_t, TraceObserver>> trace_observers_;
  int64_t next_observer_id_ = 1;
  std::vector<std::shared_ptr<const Trace>> passed_on_;  // shown to the trace observers, kept for take_trace()
  int64_t passed_on_events_ = 0;
  std::unique_ptr<GpuActivity> gpu_;
  std::string gpu_message_;
  bool engine_thread_named_ = false;
  bool stop_at_eos_ = true;  // generate_past_eos()
  std::vector<int32_t> retained_;  // scratch for the retained-tokens counter
  std::optional<int64_t> rss_bytes_;  // the last process RSS sample
  int64_t rss_sampled_ns_ = 0;
};

// The requests of config.workload, the first config.max_requests of them. Errors name the file
// and line.
std::vector<Request> load_run_requests(const RunConfig& config);

// A request's tokens as the model reads them: the whole turn (prompt or chat rendering with the
// question appended to its text), encoded at once, so the tokens join as the template renders
// them; the last `question_tokens` are the question's (its text and the template's close of the
// turn).
struct PromptTokens {
  std::vector<int32_t> ids;
  int64_t question_tokens = 0;
};
PromptTokens prompt_tokens(const Model& model, const Request& request);

// prompt_tokens(...).ids: the prompt tokens of a request (chat template for `messages`).
std::vector<int32_t> request_tokens(const Model& model, const Request& request);

// kernels::make_backend(name, threads, weights_cache_bytes, matmul) with its failures ("no CUDA
// device: ...", "kvwb was built without CUDA") as kvwb::Error "backend: <why>".
std::unique_ptr<kernels::Backend> make_named_backend(
    const std::string& name, int threads, int64_t weights_cache_bytes = kernels::kDefaultWeightsCacheBytes,
    kernels::MatmulMode matmul = kernels::MatmulMode::exact);
// The backend of a run config: its backend, threads, weights_cache_bytes and matmul.
std::unique_ptr<kernels::Backend> make_named_backend(const RunConfig& config);

// Free memory the `auto` KV pool may take a fraction of (MemAvailable on the CPU).
int64_t available_memory_bytes();

}  // namespace kvwb
