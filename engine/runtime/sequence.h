#pragma once
// The state of one request inside the engine: its tokens, where it stands (waiting, prefilling,
// decoding, finished) and its sampling stream.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/runtime/generator.h"
#include "engine/runtime/policies/token_spans.h"
#include "engine/runtime/top_logprobs.h"

namespace kvwb {

enum class SequencePhase : uint8_t { Waiting, Prefill, Decode, Finished };

struct SequenceState {
  int64_t index = 0;        // submission order (0, 1, 2, ...)
  std::string id;           // request id
  std::vector<int32_t> prompt;
  // The last `question_tokens` of `prompt` are the request's question: prefilled after the
  // policy compressed what comes before them, and not evicted then (workload.h, Request::question).
  int64_t question_tokens = 0;
  std::vector<int32_t> output;  // generated tokens so far (kept across preemption)
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // per output token, when the engine records them
  int64_t max_new_tokens = 0;
  SequencePhase phase = SequencePhase::Waiting;
  int32_t cache_seq = -1;       // id in the KV cache while admitted
  int64_t prefilled = 0;        // tokens of `context()` already in the cache
  int64_t reserved_blocks = 0;  // blocks held back for this sequence at admission
  int64_t preemptions = 0;
  // The engine's config version when it was last preempted with nothing else running: a second
  // time under the same config means it cannot fit the pool (Engine::schedule).
  int64_t preempted_alone_at = -1;
  int64_t steps_since_eviction = 0;
  // A config update (budget, policy) came after its last eviction: the engine enforces the new
  // budget at the start of the next step, whatever the decode interval says.
  bool budget_changed = false;
  // policy.span: span_start[i] = the first context position of position i's span, for the
  // context seen so far (Engine::evict extends it; a different span kind starts it again).
  SpanKind span_kind = SpanKind::None;
  std::vector<int32_t> span_start;
  SamplerRng rng{0};
  double submitted_at = 0, admitted_at = -1, first_token_at = -1, finished_at = -1;
  bool stopped_at_eos = false;

  // What must be in the cache before the next token is sampled: the prompt and, after a
  // preemption, the tokens generated so far (recomputed).
  int64_t context_length() const { return static_cast<int64_t>(prompt.size() + output.size()); }
  // Where prefill pauses for the policy's end-of-prefill compression: the start of the question,
  // or the whole context when there is none.
  int64_t compress_at() const {
    return question_tokens > 0 ? static_cast<int64_t>(prompt.size()) - question_tokens : context_length();
  }
  // A context index the policy sees only after compressing: a question token or a decode token.
  bool after_compression(int64_t i) const { return question_tokens > 0 && i >= compress_at(); }
  int32_t context_token(int64_t i) const {
    const auto p = static_cast<int64_t>(prompt.size());
    return i < p ? prompt[static_cast<size_t>(i)] : output[static_cast<size_t>(i - p)];
  }
};

}  // namespace kvwb
