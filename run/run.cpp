#include "run/run.h"

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>

#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"
#include "engine/model/chat_prompt.h"
#include "engine/model/model_paths.h"
#include "engine/model/convert_weights.h"
#include "engine/model/random_model.h"
#include "engine/workload/metrics.h"
#include "kernels/backend.h"
#include "kernels/backend_factory.h"
#include "kernels/quant.h"
#include "profiler/clock.h"
#include "run/run_counters.h"

namespace kvwb {

std::unique_ptr<kernels::Backend> make_named_backend(const std::string& name, int threads,
                                                     int64_t weights_cache_bytes, kernels::MatmulMode matmul) {
  try {
    return kernels::make_backend(name, threads, static_cast<size_t>(weights_cache_bytes), matmul);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("backend", "{}", e.what());
  }
}

std::unique_ptr<kernels::Backend> make_named_backend(const RunConfig& config) {
  // The schema's choices for matmul are exact and fast (run_config_schema.cpp).
  const auto matmul = config.matmul == "fast" ? kernels::MatmulMode::fast : kernels::MatmulMode::exact;
  return make_named_backend(config.backend, config.threads, config.weights_cache_bytes, matmul);
}

int64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t value = 0;
  std::string unit;
  while (in >> key >> value >> unit) {
    if (key == "MemAvailable:") return value * 1024;
  }
  return 0;
}

namespace {

// The text the model reads for the whole request: the prompt or the chat rendering, with the
// question appended to the prompt or the last message's content.
std::string whole_text(const Model& model, const Request& request) {
  if (request.messages.empty()) return request.prompt + request.question;
  std::vector<ChatTurn> turns;
  for (const ChatMessage& m : request.messages) turns.push_back({m.role, m.content});
  turns.back().content += request.question;
  try {
    return render_chat(model, turns);
  } catch (const Error& e) {
    fail(request.id, "{}", e.what());  // which request needed the template
  }
}

}  // namespace

PromptTokens prompt_tokens(const Model& model, const Request& request) {
  const Tokenizer& tok = *model.tokenizer;
  const bool chat = !request.messages.empty();
  const bool bos = !chat && tok.add_bos_by_default();  // a chat template writes BOS itself
  const std::string text = whole_text(model, request);
  PromptTokens out{tok.encode(text, bos), 0};
  if (request.question.empty()) return out;
  // The question starts where the last message's content (or the prompt) ends in the rendered
  // text. A template that rewrites the content (trims it) leaves no such place.
  const std::string& content = chat ? request.messages.back().content : request.prompt;
  const size_t at = text.rfind(content + request.question);
  if (at == std::string::npos) fail(request.id, "the chat template changes the message text: the question cannot be placed");
  // The prompt's tokens are those the whole text and the text before the question share: a
  // token that straddles the boundary (a merge across it) goes to the question.
  const std::vector<int32_t> before = tok.encode(text.substr(0, at + content.size()), bos);
  size_t shared = 0;
  while (shared < before.size() && shared < out.ids.size() && before[shared] == out.ids[shared]) ++shared;
  if (shared == 0) fail(request.id, "the prompt before the question has no token of its own");
  out.question_tokens = static_cast<int64_t>(out.ids.size() - shared);
  return out;
}

std::vector<int32_t> request_tokens(const Model& model, const Request& request) { return prompt_tokens(model, request).ids; }

std::vector<Request> load_run_requests(const RunConfig& config) {
  validate(config, "run config");
  if (config.workload.empty()) fail("workload", "the run config names no workload file");
  std::vector<Request> requests = load_workload(config.workload).requests;
  if (config.max_requests && static_cast<int64_t>(requests.size()) > *config.max_requests) {
    requests.resize(static_cast<size_t>(*config.max_requests));
  }
  return requests;
}

// The workload first: a bad line is reported before the model is loaded.
Run::Run(const RunConfig& config, std::shared_ptr<const Model> model)
    : Run(config, load_run_requests(config), std::move(model)) {}

Run::Run(const RunConfig& config, std::vector<Request> requests, std::shared_ptr<const Model> model,
         const BackendDecorator& decorate)
    : config_(config), requests_(std::move(requests)) {
  validate(config_, "run config");
  if (model) model_ = std::move(model);
  else if (!config_.random_weights.empty()) model_ = load_random_model(config_.random_weights, config_.weights_dtype);
  else {
    std::unique_ptr<Model> loaded = load_model(resolve_model_path(config_.model));
    kernels::DType dtype{};
    if (weights_dtype_from_name(config_.weights_dtype, dtype)) convert_weights(*loaded, dtype);
    model_ = std::move(loaded);
  }
  backend_ = make_named_backend(config_);
  if (decorate) decorated_ = decorate(*backend_);
  profiled_backend_ = std::make_unique<kernels::ProfiledBackend>(decorated_ ? *decorated_ : *backend_);

  std::vector<std::vector<int32_t>> prompts;
  std::vector<int64_t> questions;  // question tokens at the end of each prompt
  int64_t full_kv_bytes = 0;  // what every request at once would need without compression
  const kernels::DType kv_dtype = parse_kv_dtype(config_.kv_dtype);
  check_kv_dtype(kv_dtype, model_->config.head_dim);  // before sizing the pool: the clearer error
  const int64_t block_bytes = kv_bytes_per_block(model_->config.head_dim, config_.block_size, kv_dtype);
  for (const Request& r : requests_) {
    PromptTokens tokens = prompt_tokens(*model_, r);
    prompts.push_back(std::move(tokens.ids));
    questions.push_back(tokens.question_tokens);
    const int64_t all = static_cast<int64_t>(prompts.back().size()) + r.max_new_tokens;
    full_kv_bytes += model_->config.num_layers * model_->config.num_kv_heads *
                     ((all + config_.block_size - 1) / config_.block_size) * block_bytes;
  }
  if (config_.kv_pool_bytes) {
    kv_pool_bytes_ = *config_.kv_pool_bytes;
  } else {
    // auto: a share of the memory available after the weights, but never more than the whole
    // workload could use at once.
    const auto available = static_cast<double>(available_memory_bytes());
    kv_pool_bytes_ = std::min(static_cast<int64_t>(available * config_.kv_pool_auto_fraction), full_kv_bytes);
  }
  for (size_t i = 0; i < requests_.size(); ++i) {
    if (!request_index_.emplace(requests_[i].id, i).second) fail(requests_[i].id, "two requests have this id");
  }
  engine_ = std::make_unique<Engine>(*model_, *profiled_backend_, engine_options(config_));
  for (const std::string& id : engine_options(config_).trace_ids) {
    auto it = request_index_.find(id);
    if (it == request_index_.end() || traced_prompts_.count(id) != 0) continue;  // not in this workload
    traced_ids_.push_back(id);
    traced_prompts_[id] = prompts[it->second];
  }
  for (size_t i = 0; i < requests_.size(); ++i) {
    prompt_tokens_ += static_cast<int64_t>(prompts[i].size());
    engine_->submit(requests_[i].id, std::move(prompts[i]), requests_[i].max_new_tokens, questions[i]);
  }
}

Run::~Run() = default;

EngineOptions Run::engine_options(const RunConfig& c) const {
  EngineOptions o;
  o.block_size = c.block_size;
  o.kv_dtype = parse_kv_dtype(c.kv_dtype);
  // The schema's choices for kv_rotation are none and hadamard; plain dtypes round each value on
  // its own, so only the block-quantized ones are rotated (kernels/kv_rotation.h).
  o.kv_rotated = c.kv_rotation == "hadamard" && kernels::is_quantized(o.kv_dtype);
  o.num_blocks = blocks_for_pool_bytes(kv_pool_bytes_, model_->config, c.block_size, o.kv_dtype);
  if (o.num_blocks < 1) {
    fail("kv_pool_bytes", "{} holds no KV block of this model ({} bytes each)", format_bytes(kv_pool_bytes_),
         kv_bytes_per_block(model_->config.head_dim, c.block_size, o.kv_dtype));
  }
  o.prefill_chunk = c.prefill_chunk;
  o.max_batch = c.max_batch;
  o.max_tokens_per_step = c.max_tokens_per_step;
  o.policy = c.policy;
  o.sampling = c.sampling;
  o.stop_at_eos = stop_at_eos_;
  // Full eviction maps for the requests named, by default the first two (docs/sessions.md).
  o.trace_ids = c.trace_sequences;
  if (o.trace_ids.empty()) {
    for (size_t i = 0; i < std::min<size_t>(2, requests_.size()); ++i) o.trace_ids.push_back(requests_[i].id);
  }
  return o;
}

bool Run::done() const { return engine_->done(); }

void Run::generate_past_eos() {
  stop_at_eos_ = false;
  engine_->update(engine_options(config_));
}

const std::vector<int32_t>& Run::prompt_of(const std::string& request_id) const {
  auto it = traced_prompts_.find(request_id);
  if (it == traced_prompts_.end()) fail(request_id, "not a traced request of this run");
  return it->second;
}

int64_t Run::add_step_observer(StepObserver observer) {
  step_observers_.emplace_back(next_observer_id_, std::move(observer));
  return next_observer_id_++;
}

int64_t Run::add_trace_observer(TraceObserver observer) {
  trace_observers_.emplace_back(next_observer_id_, std::move(observer));
  return next_observer_id_++;
}

void Run::remove_observer(int64_t id) {
  std::erase_if(step_observers_, [id](const auto& o) { return o.first == id; });
  std::erase_if(trace_observers_, [id](const auto& o) { return o.first == id; });
}

RunStep Run::step() {
  RunStep out;
  StepStats& s = out.stats;
  s = profiler_ ? profiled_step() : engine_->step();
  ++steps_;
  if (s.batch_size > 0) {
    ++batch_steps_;
    batch_sum_ += s.batch_size;
  }
  max_batch_ = std::max(max_batch_, s.batch_size);
  peak_blocks_ = std::max(peak_blocks_, s.peak_blocks_used);
  preemptions_ += s.preemptions;
  evicted_ += s.evicted_slots;
  guide_tokens_ += s.guide_tokens;
  wall_ += s.wall_seconds;
  eviction_seconds_ += s.eviction_seconds;
  if (s.evicted_slots > 0) {
    ++evicting_steps_;
    evicting_steps_seconds_ += s.wall_seconds;
    evicting_steps_eviction_seconds_ += s.eviction_seconds;
  }
  out.finished = collect_finished();
  // A copy: an observer may remove itself (or another) while it runs.
  const std::vector<std::pair<int64_t, StepObserver>> observers = step_observers_;
  for (const auto& [id, observer] : observers) observer(out);
  // After the step observers: what they queued (a recording's writes) is already under way when
  // the step's trace is handed on, as when they ran inside the engine's step.
  flush_trace();
  return out;
}

void Run::enable_profiling(const ProfilerOptions& options) {
  if (profiler_) return;
  profiler_ = std::make_unique<Profiler>(options);
  max_trace_events_ = options.max_events;
  if (config_.backend == "cuda") {
    GpuActivityStart started = start_gpu_activity(*profiler_);
    gpu_ = std::move(started.activity);
    gpu_message_ = std::move(started.message);
  }
}

StepStats Run::profiled_step() {
  if (!engine_thread_named_) {  // the thread that steps (the GUI's worker, not its caller)
    profiler_->name_this_thread("engine");
    engine_thread_named_ = true;
  }
  StepStats s;
  {
    CurrentProfiler bind(profiler_.get());  // the engine and the ProfiledBackend record into it
    s = engine_->step();
  }
  retained_.clear();
  for (const SequenceLengths& r : s.retained) retained_.insert(retained_.end(), r.lengths.begin(), r.lengths.end());
  StepCounters counters = counters_of_step(s, retained_);
  // Reading /proc/self/statm costs microseconds (a few % of a small model's step): sample RSS at
  // most every 50 ms, which is finer than it changes.
  const int64_t now = now_ns();
  if (!rss_bytes_ || now - rss_sampled_ns_ >= 50'000'000) {
    rss_bytes_ = process_rss_bytes();
    rss_sampled_ns_ = now;
  }
  counters.process_rss_bytes = rss_bytes_;
  if (gpu_) {
    backend_->synchronize();  // the step's kernels have finished: their records can be flushed
    gpu_->flush();
    counters.gpu_memory_used_bytes = gpu_memory_used_bytes();
  }
  record_step_counters(*profiler_, s.step, counters, now);
  return s;
}

void Run::pass_on_trace() {
  auto batch = std::make_shared<Trace>(profiler_->take());
  for (const auto& [id, observer] : trace_observers_) observer(batch);  // shared, not copied
  // The profiler's cap, applied to what is kept here instead (take() released it there).
  const auto events = static_cast<int64_t>(batch->spans.size() + batch->counters.size() + batch->instants.size());
  if (passed_on_events_ + events > max_trace_events_) {
    auto dropped = std::make_shared<Trace>();
    dropped->dropped_events = batch->dropped_events + events;
    dropped->tracks = batch->tracks;
    batch = std::move(dropped);
  } else {
    passed_on_events_ += events;
  }
  passed_on_.push_back(std::move(batch));
}

void Run::flush_trace() {
  if (profiler_ && !trace_observers_.empty()) pass_on_trace();
}

Trace Run::take_trace() {
  if (!profiler_) return {};
  flush_trace();
  if (gpu_) gpu_->flush();
  std::vector<Trace> batches;
  batches.reserve(passed_on_.size() + 1);
  for (std::shared_ptr<const Trace>& b : passed_on_) {
    // Batches the observers no longer hold are moved out (they were made non-const here).
    if (b.use_count() == 1) batches.push_back(std::move(const_cast<Trace&>(*b)));
    else batches.push_back(*b);
  }
  passed_on_.clear();
  passed_on_events_ = 0;
  batches.push_back(profiler_->take());
  return concat_traces(std::move(batches));
}

std::vector<RequestResult> Run::collect_finished() {
  std::vector<RequestResult> finished;
  for (FinishedRequest& f : engine_->take_finished()) {
    const Request& req = requests_.at(request_index_.at(f.id));
    RequestResult r;
    r.id = f.id;
    r.task = req.task;
    r.metric = req.metric;
    r.answers = req.answers;
    r.prompt_tokens = static_cast<int64_t>(f.prompt.size());
    r.question_tokens = f.question_tokens;
    r.prompt_ids = std::move(f.prompt);
    r.output_tokens = std::move(f.output);
    r.output_text = model_->tokenizer->decode(r.output_tokens, /*skip_special=*/true);
    r.stopped_at_eos = f.stopped_at_eos;
    r.preemptions = f.preemptions;
    r.top_logprobs = std::move(f.top_logprobs);
    r.latency_seconds = f.finished_at - f.submitted_at;
    r.first_token_seconds = f.first_token_at - f.submitted_at;
    if (!req.metric.empty()) r.score = score_answer(req.metric, r.output_text, req.answers);
    finished.push_back(r);
    results_.push_back(std::move(r));
  }
  return finished;
}

RunSummary Run::run_to_completion(const std::function<void(int64_t, int64_t)>& progress) {
  while (!done()) {
    step();
    if (progress) progress(static_cast<int64_t>(results_.size()), total_requests());
  }
  return summary();
}

void Run::update_config(const RunConfig& config) {
  validate(config, "config update");
  const LiveChange change = apply_live_changes(config_, config);
  if (!change.deferred.empty()) {
    std::string keys;
    for (const ConfigField* f : change.deferred) keys += (keys.empty() ? "" : ", ") + std::string(f->key);
    fail(keys, "cannot change during a run (it takes effect when a new run starts)");
  }
  engine_->update(engine_options(config));
  config_ = config;
  if (profiler_) {
    // A moment on the timeline: the budget the steps from here on run under.
    const PolicyConfig& p = config.policy;
    std::vector<Arg> args{{"policy", p.name}, {"max_batch", config.max_batch}, {"decode_interval", p.decode_interval}};
    if (p.budget_tokens) args.push_back({"budget_tokens", *p.budget_tokens});
    if (p.budget_ratio) args.push_back({"budget_ratio", *p.budget_ratio});
    profiler_->instant("config change", Category::config, std::move(args));
  }
}

RunSummary Run::summary() const {
  RunSummary s;
  s.requests = total_requests();
  s.steps = steps_;
  s.prompt_tokens = prompt_tokens_;
  for (const RequestResult& r : results_) s.generated_tokens += static_cast<int64_t>(r.output_tokens.size());
  s.wall_seconds = wall_;
  if (wall_ > 0) {
    s.generated_tokens_per_second = static_cast<double>(s.generated_tokens) / wall_;
    s.total_tokens_per_second = static_cast<double>(s.generated_tokens + s.prompt_tokens) / wall_;
  }
  s.mean_batch = batch_steps_ > 0 ? static_cast<double>(batch_sum_) / static_cast<double>(batch_steps_) : 0.0;
  s.max_batch = max_batch_;
  s.peak_blocks_used = peak_blocks_;
  s.blocks_total = engine_->cache().block_limit();
  s.kv_pool_bytes = kv_pool_bytes_;
  s.preemptions = preemptions_;
  s.evicted_slots = evicted_;
  s.guide_tokens = guide_tokens_;
  s.eviction_seconds = eviction_seconds_;
  s.evicting_steps = evicting_steps_;
  s.evicting_steps_seconds = evicting_steps_seconds_;
  s.evicting_steps_eviction_seconds = evicting_steps_eviction_seconds_;
  double total = 0;
  for (const RequestResult& r : results_) {
    if (r.score < 0) continue;
    TaskScore& t = s.tasks[r.task];
    t.mean = (t.mean * static_cast<double>(t.count) + r.score) / static_cast<double>(t.count + 1);
    ++t.count;
    total += r.score;
    ++s.overall.count;
  }
  if (s.overall.count > 0) s.overall.mean = total / static_cast<double>(s.overall.count);
  return s;
}

}  // namespace kvwb
