#pragma once
// The engine: continuous batching over a paged KV cache bounded by a block budget. step() runs
// one scheduler iteration (decode tokens for running requests, prefill chunks, admissions),
// one batched forward pass, the policy's evictions, and sampling; it returns the statistics.
// With a profiler bound to the calling thread (profiler/profiler.h, CurrentProfiler), each step
// records a "step" span holding "schedule" (scheduler), "evict" (policy, with "compact" spans of
// the cache inside) and the backend's op spans when the backend is a ProfiledBackend.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/run_config.h"
#include "engine/model/model.h"
#include "engine/runtime/forward.h"
#include "engine/runtime/kv_cache.h"
#include "engine/runtime/policies/token_spans.h"
#include "engine/runtime/policy.h"
#include "engine/runtime/sequence.h"
#include "engine/runtime/step_stats.h"
#include "engine/runtime/top_logprobs.h"
#include "kernels/backend.h"

namespace kvwb {

struct EngineOptions {
  int64_t num_blocks = 0;
  int64_t block_size = 16;
  kernels::DType kv_dtype = kernels::DType::F32;  // K/V storage (kernels/kv_dtype.h); fixed for a run
  bool kv_rotated = false;  // K/V stored rotated (KvCacheShape::kv_rotated); fixed for a run
  int64_t prefill_chunk = 128;
  int64_t max_batch = 64;
  int64_t max_tokens_per_step = 512;
  PolicyConfig policy;
  SamplingConfig sampling;
  bool stop_at_eos = true;
  std::vector<std::string> trace_ids;  // requests whose every eviction decision is reported
};

// Blocks a pool of `bytes` holds for this model (K and V of one KV head per block, in kv_dtype,
// with each slot's metadata: kv_bytes_per_block).
int64_t blocks_for_pool_bytes(int64_t bytes, const ModelConfig& model, int64_t block_size, kernels::DType kv_dtype);

struct FinishedRequest {
  std::string id;
  int64_t index = 0;
  std::vector<int32_t> prompt;
  int64_t question_tokens = 0;  // the last of `prompt` (SequenceState::question_tokens)
  std::vector<int32_t> output;
  bool stopped_at_eos = false;
  int64_t preemptions = 0;
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // per output token, when recorded
  double submitted_at = 0, admitted_at = 0, first_token_at = 0, finished_at = 0;
};

class Engine {
 public:
  using Observer = std::function<void(const StepStats&)>;
  // Builds the policy named by a PolicyConfig (make_policy; tests pass one with wrong estimates).
  using PolicyFactory = std::function<std::unique_ptr<CompressionPolicy>(const PolicyConfig&)>;

  Engine(const Model& model, kernels::Backend& backend, const EngineOptions& options,
         PolicyFactory policy_factory = make_policy);

  // Queues a request. Throws Error when it can never fit the pool (its peak exceeds it). The
  // last `question_tokens` of `prompt` are its question: the policy compresses the prompt
  // before them as at the end of prefill, then they are prefilled without eviction.
  void submit(const std::string& id, std::vector<int32_t> prompt, int64_t max_new_tokens, int64_t question_tokens = 0);
  StepStats step();
  bool done() const { return waiting_.empty() && running_.empty(); }

  // Between steps: new limits and policy; a smaller pool limit preempts until it fits. The next
  // step starts by evicting every running sequence down to the new budget (whatever the decode
  // interval says); a larger budget lets them grow from there.
  void update(const EngineOptions& options);
  void request_retention_snapshot() { snapshot_next_ = true; }
  // From the next step on, every generated token also records the k most likely tokens of the
  // distribution it was sampled from (FinishedRequest::top_logprobs); 0 stops. Costs a copy of
  // the logits row to the host per token: a measurement option, not a tunable.
  void record_top_logprobs(int64_t k) { top_logprobs_k_ = k; }
  void add_observer(Observer observer) { observers_.push_back(std::move(observer)); }
  std::vector<FinishedRequest> take_finished();

  const KvCache& cache() const { return cache_; }
  const EngineOptions& options() const { return options_; }
  int64_t waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t running() const { return static_cast<int64_t>(running_.size()); }
  // Blocks reserved for the running requests' peaks (what admission counts against the pool).
  int64_t reserved_blocks() const { return reserved_blocks_; }

 private:
  struct Work {
    SequenceState* seq;
    int64_t begin;  // context index of the first token fed
    int64_t count;
    ChunkGuide guide = {};  // policy.chunk_guidance: copies fed after the chunk, dropped after the forward
  };
  double now() const;
  bool traced(const std::string& id) const;
  int64_t peak_of(const SequenceState& s) const;
  int64_t blocks_held(const SequenceState& s) const;  // KV blocks of an admitted sequence
  bool admit_next(int64_t tokens_left);
  // Decode tokens, prefill chunks and (when `admit`) admissions for this step.
  void plan(std::vector<Work>& work, int64_t& admitted, bool admit);
  // Plans the step's work (preempting if its appends do not fit) and builds the batch. Throws
  // Error when the oldest running request does not fit the pool alone even after a recompute.
  void schedule(StepStats& stats, std::vector<Work>& work);
  void run_step(StepStats& stats);
  // Removes a guided chunk's guide copies (the newest slots of every row of its sequence).
  void drop_guide_copies(const Work& w);
  // Runs the policy on `seq` after `appended` tokens (0: enforce a changed budget) and adds
  // what it evicted to `stats`.
  void evict(SequenceState& seq, int64_t appended, bool prefill_done, StepStats& stats);
  void record_retained(StepStats& stats) const;
  void preempt(SequenceState* seq);
  void finish(SequenceState* seq);
  void snapshot(StepStats& stats) const;
  // Brings s.span_start up to its context under the current span rules (policy.span).
  void update_spans(SequenceState& s) const;

  const Model& model_;
  kernels::Backend& backend_;
  EngineOptions options_;
  PolicyFactory policy_factory_;
  KvCache cache_;
  Forward forward_;
  std::unique_ptr<CompressionPolicy> policy_;
  SpanRules span_rules_;  // of options_.policy.span, from the model's tokenizer
  std::deque<std::unique_ptr<SequenceState>> waiting_;
  std::vector<std::unique_ptr<SequenceState>> running_;  // admission order
  std::vector<FinishedRequest> finished_;
  std::vector<Observer> observers_;
  int64_t reserved_blocks_ = 0;
  int64_t next_index_ = 0;
  int64_t step_ = 0;
  int64_t step_preemptions_ = 0;
  int64_t config_version_ = 0;  // update() calls so far
  bool snapshot_next_ = false;
  int64_t top_logprobs_k_ = 0;
  std::vector<float> host_logits_;  // scratch for record_top_logprobs
  double start_ = 0;
  ForwardBatch batch_;
};

}  // namespace kvwb
