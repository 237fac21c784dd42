#include "engine/runtime/engine.h"

#include <algorithm>
#include <utility>

#include "engine/core/error.h"
#include "engine/core/invariant.h"
#include "profiler/clock.h"
#include "profiler/scoped_span.h"

namespace kvwb {
namespace {


KvCacheShape cache_shape(const ModelConfig& c, const EngineOptions& o) {
  KvCacheShape s;
  s.num_layers = c.num_layers;
  s.num_kv_heads = c.num_kv_heads;
  s.head_dim = c.head_dim;
  s.block_size = o.block_size;
  s.num_blocks = o.num_blocks;
  s.kv_dtype = o.kv_dtype;
  s.kv_rotated = o.kv_rotated;
  return s;
}

void check_options(const EngineOptions& o) {
  if (o.num_blocks < 1) fail("kv_pool_bytes", "the KV pool holds no block");
  if (o.prefill_chunk < 1) fail("prefill_chunk", "must be at least 1");
  if (o.max_batch < 1) fail("max_batch", "must be at least 1");
  if (o.max_tokens_per_step < 1) fail("max_tokens_per_step", "must be at least 1");
}

// The span rules policy.span asks for (none needs no tokenizer).
SpanRules span_rules_for(const Model& model, const PolicyConfig& policy) {
  const SpanKind kind = span_kind(policy.span);
  if (kind == SpanKind::None) return {};
  if (!model.tokenizer) fail("policy.span", "'{}' needs the model's tokenizer, and this model has none", policy.span);
  return SpanRules::for_tokenizer(*model.tokenizer, kind);
}

}  // namespace

int64_t blocks_for_pool_bytes(int64_t bytes, const ModelConfig& model, int64_t block_size, kernels::DType kv_dtype) {
  return bytes / kv_bytes_per_block(model.head_dim, block_size, kv_dtype);
}

Engine::Engine(const Model& model, kernels::Backend& backend, const EngineOptions& options,
               PolicyFactory policy_factory)
    : model_(model),
      backend_(backend),
      options_((check_options(options), options)),
      policy_factory_(std::move(policy_factory)),
      cache_(backend, cache_shape(model.config, options)),
      forward_(model, backend),
      policy_(policy_factory_(options.policy)),
      span_rules_(span_rules_for(model, options.policy)),
      start_(now_seconds()) {}

bool Engine::traced(const std::string& id) const {
  return std::find(options_.trace_ids.begin(), options_.trace_ids.end(), id) != options_.trace_ids.end();
}

double Engine::now() const { return now_seconds() - start_; }

int64_t Engine::blocks_held(const SequenceState& s) const {
  int64_t blocks = 0;
  for (int64_t l = 0; l < cache_.shape().num_layers; ++l) {
    for (int64_t h = 0; h < cache_.shape().num_kv_heads; ++h) {
      blocks += static_cast<int64_t>(cache_.block_table(s.cache_seq, l, h).size());
    }
  }
  return blocks;
}

int64_t Engine::peak_of(const SequenceState& s) const {
  const int64_t remaining = s.max_new_tokens - static_cast<int64_t>(s.output.size());
  if (s.question_tokens == 0) {
    // A guided chunk holds its guide's copies on top of the policy's peak for one step
    // (chunk_guide of an empty chunk: the copies every chunk that holds none of its guide gets).
    const int64_t copies = policy_->chunk_guide(s, 0, 0).copies();
    return policy_->peak_blocks(s.context_length(), remaining, cache_.shape(), options_.prefill_chunk) +
           (copies > 0 ? blocks_for_tokens(copies, cache_.shape()) : 0);
  }
  // With a question: the policy's peak for the compressed part followed by the question and the
  // new tokens, plus the question held whole until the first decode eviction (or, with
  // chunk_guidance, its copy during a chunk: the two are never in the cache together); never
  // more than every token kept.
  const int64_t after = s.context_length() - s.compress_at() + remaining;
  return std::min(blocks_for_tokens(s.context_length() + remaining, cache_.shape()),
                  policy_->peak_blocks(s.compress_at(), after, cache_.shape(), options_.prefill_chunk) +
                      blocks_for_tokens(s.question_tokens, cache_.shape()));
}

void Engine::submit(const std::string& id, std::vector<int32_t> prompt, int64_t max_new_tokens, int64_t question_tokens) {
  if (prompt.empty()) fail(id, "request has an empty prompt");
  if (question_tokens < 0 || question_tokens >= static_cast<int64_t>(prompt.size())) {
    fail(id, "question of {} tokens in a prompt of {}: the prompt before it must not be empty", question_tokens, prompt.size());
  }
  if (max_new_tokens < 1) fail(id, "max_new_tokens must be at least 1");
  for (int32_t t : prompt) {
    if (t < 0 || t >= model_.config.vocab_size) fail(id, "token {} is outside the vocabulary", t);
  }
  auto s = std::make_unique<SequenceState>();
  s->index = next_index_++;
  s->id = id;
  s->prompt = std::move(prompt);
  s->question_tokens = question_tokens;
  s->max_new_tokens = max_new_tokens;
  s->rng = SamplerRng(options_.sampling.seed + static_cast<uint64_t>(s->index) * 0x9E3779B97F4A7C15ull);
  s->submitted_at = now();
  const int64_t peak = peak_of(*s);
  if (peak > cache_.block_limit()) {
    fail(id, "needs {} KV blocks at its peak ({} prompt + {} new tokens under policy {}) but the pool holds {}; "
             "raise kv_pool_bytes or lower the budget",
         peak, s->prompt.size(), max_new_tokens, policy_->name(), cache_.block_limit());
  }
  waiting_.push_back(std::move(s));
}

bool Engine::admit_next(int64_t tokens_left) {
  if (waiting_.empty() || tokens_left <= 0 || static_cast<int64_t>(running_.size()) >= options_.max_batch) return false;
  SequenceState& s = *waiting_.front();
  const int64_t peak = peak_of(s);
  if (reserved_blocks_ + peak > cache_.block_limit()) return false;  // FIFO: wait for memory
  s.cache_seq = cache_.add_sequence();
  s.phase = SequencePhase::Prefill;
  s.prefilled = 0;
  s.reserved_blocks = peak;
  if (s.admitted_at < 0) s.admitted_at = now();
  reserved_blocks_ += peak;
  running_.push_back(std::move(waiting_.front()));
  waiting_.pop_front();
  return true;
}

void Engine::plan(std::vector<Work>& work, int64_t& admitted, bool admit) {
  work.clear();
  int64_t tokens_left = options_.max_tokens_per_step;
  // Decode tokens first (they are latency-bound), then prefill chunks in admission order, then
  // new admissions while the reserved peaks fit the pool.
  for (auto& s : running_) {
    if (tokens_left == 0 || static_cast<int64_t>(work.size()) >= options_.max_batch) break;
    if (s->phase != SequencePhase::Decode) continue;
    work.push_back({s.get(), s->prefilled, 1});
    --tokens_left;
  }
  auto add_prefill = [&](SequenceState* s) {
    // A chunk ends where the policy compresses (before a question), so it compresses there.
    const int64_t end = s->prefilled < s->compress_at() ? s->compress_at() : s->context_length();
    const int64_t n = std::min({options_.prefill_chunk, end - s->prefilled, tokens_left});
    if (n <= 0 || static_cast<int64_t>(work.size()) >= options_.max_batch) return;
    const ChunkGuide guide = policy_->chunk_guide(*s, s->prefilled, s->prefilled + n);
    work.push_back({s, s->prefilled, n, guide});
    // Guide copies are work too, but never shorten this chunk (a guide longer than the step's
    // tokens would stall the request): they take what the step has left after it.
    tokens_left -= n;
    tokens_left -= std::min(tokens_left, guide.copies());
  };
  for (auto& s : running_) {
    if (s->phase == SequencePhase::Prefill) add_prefill(s.get());
  }
  while (admit && admit_next(tokens_left)) {
    ++admitted;
    add_prefill(running_.back().get());
  }
}

void Engine::preempt(SequenceState* seq) {
  // Recompute later: drop its cache, keep its generated tokens and sampling stream.
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == seq; });
  cache_.free_sequence(seq->cache_seq);
  seq->cache_seq = -1;
  seq->phase = SequencePhase::Waiting;
  seq->prefilled = 0;
  reserved_blocks_ -= seq->reserved_blocks;
  seq->reserved_blocks = 0;
  seq->budget_changed = false;  // recomputed under the current budget anyway
  ++seq->preemptions;
  ++step_preemptions_;
  waiting_.push_front(std::move(*it));
  running_.erase(it);
}

void Engine::finish(SequenceState* seq) {
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == seq; });
  cache_.free_sequence(seq->cache_seq);
  reserved_blocks_ -= seq->reserved_blocks;
  seq->phase = SequencePhase::Finished;
  seq->finished_at = now();
  FinishedRequest f;
  f.id = seq->id;
  f.index = seq->index;
  f.prompt = std::move(seq->prompt);
  f.question_tokens = seq->question_tokens;
  f.output = std::move(seq->output);
  f.stopped_at_eos = seq->stopped_at_eos;
  f.preemptions = seq->preemptions;
  f.top_logprobs = std::move(seq->top_logprobs);
  f.submitted_at = seq->submitted_at;
  f.admitted_at = seq->admitted_at;
  f.first_token_at = seq->first_token_at;
  f.finished_at = seq->finished_at;
  finished_.push_back(std::move(f));
  running_.erase(it);
}

StepStats Engine::step() {
  // Spans go to the thread's current profiler, if one is bound (Run binds it while profiling).
  Profiler* profiler = Profiler::current();
  if (profiler != nullptr) profiler->set_step(step_);
  StepStats stats;
  {
    ScopedSpan span(profiler, "step", Category::step);
    run_step(stats);
    span.arg("batch", stats.batch_size).arg("tokens", stats.prefill_tokens + stats.decode_tokens);
    if (stats.guide_tokens > 0) span.arg("guide_tokens", stats.guide_tokens);  // the extra prefill work
  }
  for (const Observer& o : observers_) o(stats);
  return stats;
}

void Engine::schedule(StepStats& stats, std::vector<Work>& work) {
  ScopedSpan span("schedule", Category::scheduler);
  plan(work, stats.admitted, true);
  // The reservations make this rare (a shrunk pool, a policy whose estimate was low): preempt
  // the youngest request until the step's appends fit. The re-plans admit nothing, so each
  // round removes one running request and adds none: this ends within running_.size() rounds
  // (re-admitting the request just preempted could loop forever). The oldest request is only
  // preempted for itself, to be recomputed from scratch under the current config, once per
  // config: if it does not fit alone a second time under the same config, it never will.
  for (;;) {
    int64_t need = 0;
    for (const Work& w : work) need += cache_.blocks_to_append(w.seq->cache_seq, w.count + w.guide.copies());
    if (need <= cache_.free_blocks()) break;
    SequenceState& youngest = *running_.back();
    if (running_.size() == 1) {
      if (youngest.preempted_alone_at == config_version_) {
        fail(youngest.id, "needs {} more KV blocks for its next tokens but the pool has {} free with no other request "
                          "running, also after a recompute (pool {} blocks, {} in use by it; policy {} estimated its "
                          "peak at {} blocks)",
             need, cache_.free_blocks(), cache_.block_limit(), cache_.used_blocks(), policy_->name(), peak_of(youngest));
      }
      youngest.preempted_alone_at = config_version_;
    }
    preempt(&youngest);
    plan(work, stats.admitted, false);
  }

  batch_.clear();
  for (const Work& w : work) {
    const int64_t end = w.begin + w.count;
    const bool completes = end == w.seq->context_length();
    for (int64_t i = w.begin; i < end; ++i) {
      batch_.add(w.seq->cache_seq, w.seq->context_token(i), static_cast<int32_t>(i), completes && i + 1 == end,
                 policy_->observe(*w.seq, i, w.begin, end));
    }
    // The guide's copies follow the chunk (causal by position, so the chunk does not see them)
    // and observe everything it retained plus the chunk (Finch).
    for (int64_t j = 0; j < w.guide.copies(); ++j) {
      batch_.add(w.seq->cache_seq, w.seq->context_token(w.guide.begin + j), static_cast<int32_t>(end + j), false, true);
    }
    stats.guide_tokens += w.guide.copies();
    if (w.seq->phase == SequencePhase::Decode) ++stats.decode_tokens;
    else stats.prefill_tokens += w.count;
  }
  span.arg("sequences", static_cast<int64_t>(work.size())).arg("admitted", stats.admitted);
}

void Engine::run_step(StepStats& stats) {
  stats.step = step_++;
  const double t0 = now();
  stats.start_seconds = t0;

  stats.evictions_per_head.assign(static_cast<size_t>(cache_.shape().num_layers * cache_.shape().num_kv_heads), 0);
  // A config update since the last step: enforce the new budget before scheduling, so the
  // blocks it frees already serve this step's admissions. A request that still holds more than
  // its new reservation is recomputed under the new policy: its slots cached under another
  // policy may have no statistics this one can rank (the averaging scores keep them).
  std::vector<SequenceState*> over_reservation;
  for (auto& s : running_) {
    if (!std::exchange(s->budget_changed, false)) continue;
    evict(*s, 0, false, stats);
    if (blocks_held(*s) > s->reserved_blocks) over_reservation.push_back(s.get());
  }
  for (SequenceState* s : over_reservation) preempt(s);
  std::vector<Work> work;
  schedule(stats, work);
  stats.batch_size = static_cast<int64_t>(work.size());
  const double forward_start = now();
  if (!work.empty()) forward_.run(batch_, cache_);  // logits stay on the backend: only token ids come back
  stats.forward_seconds = now() - forward_start;
  stats.peak_blocks_used = cache_.used_blocks();
  if constexpr (kInvariantsChecked) check_kv_budget(stats.peak_blocks_used, cache_.block_limit(), stats.step, "after the forward's appends");

  const kernels::SamplingParams params{static_cast<float>(options_.sampling.temperature),
                                       static_cast<float>(options_.sampling.top_p)};
  const int64_t vocab = model_.config.vocab_size;
  const std::vector<int32_t>& eos = model_.tokenizer ? model_.tokenizer->eos_ids() : model_.config.eos_token_ids;
  size_t logit_row = 0;
  std::vector<SequenceState*> finished;
  for (const Work& w : work) {
    if (w.guide.copies() > 0) drop_guide_copies(w);
  }
  for (const Work& w : work) {
    SequenceState& s = *w.seq;
    s.prefilled += w.count;
    const bool complete = s.prefilled == s.context_length();
    // Prompt chunks up to the compression point go to the policy (the one that reaches it as
    // the end of prefill); question chunks are appended whole.
    if (s.phase == SequencePhase::Decode || s.prefilled <= s.compress_at()) {
      evict(s, w.count, s.phase == SequencePhase::Decode ? complete : s.prefilled == s.compress_at(), stats);
    }
    if (!complete) continue;
    const float* logits = forward_.logits() + logit_row++ * static_cast<size_t>(vocab);
    const int32_t next = backend_.sample(logits, vocab, params, s.rng.next());
    if (top_logprobs_k_ > 0) {
      host_logits_.resize(static_cast<size_t>(vocab));
      backend_.copy_to_host(host_logits_.data(), logits, host_logits_.size() * sizeof(float));
      s.top_logprobs.push_back(top_logprobs(host_logits_.data(), vocab, top_logprobs_k_));
    }
    s.output.push_back(next);
    if (s.first_token_at < 0) s.first_token_at = now();
    s.phase = SequencePhase::Decode;
    const bool is_eos = std::find(eos.begin(), eos.end(), next) != eos.end();
    if ((options_.stop_at_eos && is_eos) || static_cast<int64_t>(s.output.size()) >= s.max_new_tokens) {
      s.stopped_at_eos = is_eos;
      finished.push_back(&s);
    }
  }
  record_retained(stats);
  if (snapshot_next_) {
    snapshot(stats);
    snapshot_next_ = false;
  }
  for (SequenceState* s : finished) finish(s);

  stats.finished = static_cast<int64_t>(finished.size());
  stats.preemptions = std::exchange(step_preemptions_, 0);  // includes those of a config update
  stats.running = static_cast<int64_t>(running_.size());
  stats.waiting = static_cast<int64_t>(waiting_.size());
  stats.blocks_used = cache_.used_blocks();
  stats.blocks_free = cache_.free_blocks();
  stats.blocks_total = cache_.block_limit();
  const KvCacheShape& shape = cache_.shape();
  stats.kv_bytes_used = stats.blocks_used * kv_bytes_per_block(shape.head_dim, shape.block_size, shape.kv_dtype);
  stats.kv_slots_used = cache_.used_slots();
  stats.wall_seconds = now() - t0;
  if constexpr (kInvariantsChecked) check_kv_budget(stats.blocks_used, stats.blocks_total, stats.step, "end of step");
}

void Engine::drop_guide_copies(const Work& w) {
  const KvCacheShape& shape = cache_.shape();
  std::vector<std::vector<int64_t>> copies(static_cast<size_t>(shape.num_layers * shape.num_kv_heads));
  for (size_t r = 0; r < copies.size(); ++r) {
    const int64_t length = cache_.length(w.seq->cache_seq, static_cast<int64_t>(r) / shape.num_kv_heads,
                                         static_cast<int64_t>(r) % shape.num_kv_heads);
    for (int64_t i = length - w.guide.copies(); i < length; ++i) copies[r].push_back(i);
  }
  cache_.evict_rows(w.seq->cache_seq, copies);
}

void Engine::evict(SequenceState& s, int64_t appended, bool prefill_done, StepStats& stats) {
  AppendContext ctx;
  ctx.appended = appended;
  ctx.prefill_done = prefill_done;
  ctx.in_prefill = s.phase == SequencePhase::Prefill;
  ctx.step = stats.step;
  ctx.trace = traced(s.id) ? &stats.evictions : nullptr;
  const double start = now();
  update_spans(s);
  EvictionStats ev;
  {
    ScopedSpan span("evict", Category::policy);
    // appended == 0: no tokens came, a config update asks for the new budget now.
    ev = appended > 0 ? policy_->after_append(s, cache_, ctx) : policy_->enforce_budget(s, cache_, ctx);
    span.arg("appended", appended).arg("evicted", ev.evicted_slots);
  }
  stats.eviction_seconds += now() - start;
  stats.evicted_slots += ev.evicted_slots;
  stats.blocks_freed_by_eviction += ev.freed_blocks;
  for (size_t r = 0; r < ev.per_head.size(); ++r) stats.evictions_per_head[r] += ev.per_head[r];
}

void Engine::update_spans(SequenceState& s) const {
  if (s.span_kind != span_rules_.kind()) {
    s.span_kind = span_rules_.kind();
    s.span_start.clear();
  }
  if (s.span_kind == SpanKind::None) return;
  span_rules_.extend(s.context_length(), [&](int64_t i) { return s.context_token(i); }, s.span_start);
}

void Engine::record_retained(StepStats& stats) const {
  const KvCacheShape& shape = cache_.shape();
  stats.retained.reserve(running_.size());
  for (const auto& s : running_) {
    SequenceLengths& r = stats.retained.emplace_back();
    r.request_id = s->id;
    r.lengths.reserve(static_cast<size_t>(shape.num_layers * shape.num_kv_heads));
    for (int64_t l = 0; l < shape.num_layers; ++l) {
      for (int64_t h = 0; h < shape.num_kv_heads; ++h) r.lengths.push_back(static_cast<int32_t>(cache_.length(s->cache_seq, l, h)));
    }
  }
}

void Engine::snapshot(StepStats& stats) const {
  const KvCacheShape& shape = cache_.shape();
  for (const auto& s : running_) {
    for (int64_t l = 0; l < shape.num_layers; ++l) {
      for (int64_t h = 0; h < shape.num_kv_heads; ++h) {
        HeadRetention r;
        r.request_id = s->id;
        r.layer = static_cast<int32_t>(l);
        r.head = static_cast<int32_t>(h);
        r.positions = cache_.positions(s->cache_seq, l, h);
        r.length = static_cast<int32_t>(r.positions.size());
        stats.retention.push_back(std::move(r));
      }
    }
  }
}

void Engine::update(const EngineOptions& options) {
  // Check everything before changing anything: a rejected update leaves the run as it was.
  check_options(options);
  if (options.block_size != options_.block_size) fail("block_size", "cannot change during a run");
  if (options.kv_dtype != options_.kv_dtype) fail("kv_dtype", "cannot change during a run");
  if (options.kv_rotated != options_.kv_rotated) fail("kv_rotation", "cannot change during a run");
  if (options.num_blocks > cache_.shape().num_blocks) {
    fail("kv_pool_bytes", "cannot grow past the {} blocks allocated at the start of the run", cache_.shape().num_blocks);
  }
  std::unique_ptr<CompressionPolicy> policy = policy_factory_(options.policy);
  SpanRules span_rules =
      options.policy.span == options_.policy.span ? span_rules_ : span_rules_for(model_, options.policy);
  auto peak_under = [&](const SequenceState& s) {
    return policy->peak_blocks(s.context_length(), s.max_new_tokens - static_cast<int64_t>(s.output.size()),
                               cache_.shape(), options.prefill_chunk);
  };
  for (const auto& s : running_) {
    if (peak_under(*s) > options.num_blocks) fail(s->id, "would no longer fit a KV pool of {} blocks", options.num_blocks);
  }
  for (const auto& s : waiting_) {
    if (peak_under(*s) > options.num_blocks) fail(s->id, "would no longer fit a KV pool of {} blocks", options.num_blocks);
  }
  policy_ = std::move(policy);
  span_rules_ = std::move(span_rules);
  options_ = options;
  ++config_version_;
  for (auto& s : running_) s->budget_changed = true;
  cache_.set_block_limit(options.num_blocks);
  // Reservations were made under the old policy and pool: recompute them, then preempt the
  // youngest requests until what is reserved fits again.
  reserved_blocks_ = 0;
  for (auto& s : running_) {
    s->reserved_blocks = peak_of(*s);
    reserved_blocks_ += s->reserved_blocks;
  }
  while (reserved_blocks_ > cache_.block_limit() && !running_.empty()) preempt(running_.back().get());
}

std::vector<FinishedRequest> Engine::take_finished() { return std::exchange(finished_, {}); }

}  // namespace kvwb
