#include "engine/runtime/policies/scored_policy.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "engine/config/policy_names.h"
#include "engine/core/error.h"
#include "engine/runtime/policies/span_eviction.h"

namespace kvwb {

ScoredPolicy::ScoredPolicy(PolicyTraits traits, PolicyConfig config)
    : traits_(std::move(traits)),
      config_(std::move(config)),
      pool_kernel_(config_.pool_kernel > 0 ? config_.pool_kernel : traits_.default_pool_kernel),
      span_(span_kind(config_.span)),
      question_guided_(config_.chunk_guidance == "question" && guidable_between_chunks(config_)) {
  if (!config_.budget_tokens && !config_.budget_ratio) {
    fail("policy", "{} needs a compression budget: budget_tokens or budget_ratio", traits_.name);
  }
  if (config_.chunk_guidance != "none" && config_.chunk_guidance != "question") {
    fail("policy.chunk_guidance", "must be none or question, got '{}'", config_.chunk_guidance);
  }
}

int64_t ScoredPolicy::budget_per_head(int64_t prompt_tokens) const {
  if (config_.budget_tokens) return *config_.budget_tokens;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(*config_.budget_ratio * static_cast<double>(prompt_tokens))));
}

ProtectedSpan protected_span_of(const PolicyTraits& traits, const PolicyConfig& config) {
  // SnapKV's observation window is never evicted: it protects at least `window` newest tokens.
  const int64_t recent = traits.window_protected ? std::max(config.protected_recent, config.window) : config.protected_recent;
  return {config.sinks, recent};
}

int64_t ScoredPolicy::protected_recent() const { return protected_span_of(traits_, config_).recent; }

int64_t ScoredPolicy::peak_tokens_per_head(int64_t prompt, int64_t new_tokens, int64_t budget, int64_t chunk) const {
  // Slots a head holds at most: the prompt (or budget + one chunk when evicting between chunks),
  // then what decode adds before the next eviction (or everything it adds). A decode eviction
  // keeps up to `kept`, not what the prompt left: a context shorter than the budget (a short
  // prompt, or a budget raised live) grows to `kept` before one brings it back there.
  const int64_t kept = std::max(budget, config_.sinks + protected_recent());
  const int64_t prefill_peak = traits_.evict_during_prefill ? std::min(prompt, kept + chunk) : prompt;
  const int64_t decode_peak = traits_.evict_during_decode ? kept + std::min(new_tokens, config_.decode_interval)
                                                          : std::min(prompt, kept) + new_tokens;
  return std::min(prompt + new_tokens, std::max(prefill_peak, decode_peak));
}

int64_t ScoredPolicy::peak_blocks(int64_t prompt, int64_t new_tokens, const KvCacheShape& shape, int64_t chunk) const {
  const int64_t heads = shape.num_layers * shape.num_kv_heads;
  const int64_t full = blocks_for_tokens(prompt + new_tokens, shape);
  const int64_t budget = budget_per_head(prompt);
  auto blocks = [&](int64_t tokens) { return (tokens + shape.block_size - 1) / shape.block_size; };
  switch (traits_.allocation) {
    case Allocation::UniformPerHead:
      return heads * blocks(peak_tokens_per_head(prompt, new_tokens, budget, chunk));
    case Allocation::PyramidPerLayer: {
      int64_t total = 0;
      for (int64_t b : pyramid_budgets(budget, shape.num_layers, config_.pyramid_beta)) {
        total += shape.num_kv_heads * blocks(peak_tokens_per_head(prompt, new_tokens, b, chunk));
      }
      return std::min(total, full);
    }
    case Allocation::LayerWide:
    case Allocation::BlockGroups: {
      // Heads share the budget unevenly: bound the total slots, plus one partial block per head.
      const int64_t total_tokens = heads * peak_tokens_per_head(prompt, new_tokens, budget, chunk);
      return std::min(full, blocks(total_tokens) + heads);
    }
  }
  return full;
}

ChunkGuide ScoredPolicy::chunk_guide(const SequenceState& seq, int64_t chunk_begin, int64_t chunk_end) const {
  // Only prompt chunks before the compression point are evicted after; the question (or, without
  // one, the last `window` tokens before that point) is known before any of them is prefilled.
  if (!question_guided_ || seq.phase == SequencePhase::Decode || chunk_end > seq.compress_at()) return {};
  ChunkGuide g;
  if (seq.question_tokens > 0) {
    g.begin = seq.compress_at();
    g.end = static_cast<int64_t>(seq.prompt.size());
  } else {
    g.end = seq.compress_at();
    g.begin = std::max<int64_t>(0, g.end - config_.window);
  }
  g.copied = g.begin < chunk_begin || g.end > chunk_end;
  return g;
}

bool ScoredPolicy::observe(const SequenceState& seq, int64_t i, int64_t chunk_begin, int64_t chunk_end) const {
  // A question's queries come after the compression, as decode queries do.
  if (seq.phase == SequencePhase::Decode || seq.after_compression(i)) return traits_.observe_decode;
  // A guided chunk is scored by its guide's queries alone (the engine marks copied ones).
  if (const ChunkGuide g = chunk_guide(seq, chunk_begin, chunk_end); g.end > g.begin) {
    return !g.copied && i >= g.begin && i < g.end;
  }
  switch (traits_.observe) {
    case Observe::None: return false;
    case Observe::All: return true;
    case Observe::PromptWindow: return i >= seq.compress_at() - config_.window;
    case Observe::ChunkWindow: return i >= chunk_end - config_.window;
  }
  return false;
}

EvictionStats ScoredPolicy::after_append(SequenceState& seq, KvCache& cache, const AppendContext& context) {
  bool evict = false;
  if (context.in_prefill) {
    evict = context.prefill_done || traits_.evict_during_prefill;
    seq.steps_since_eviction = 0;
  } else if (traits_.evict_during_decode && ++seq.steps_since_eviction >= config_.decode_interval) {
    evict = true;
    seq.steps_since_eviction = 0;
  }
  return evict ? compress(seq, cache, context) : EvictionStats{};
}

EvictionStats ScoredPolicy::enforce_budget(SequenceState& seq, KvCache& cache, const AppendContext& context) {
  // Mid-prompt, only a policy that evicts between chunks may evict (the others compress when
  // the prompt is complete, which comes anyway); once decoding, every scored policy evicts.
  // A question being prefilled is not evicted (it waits for decode, as after the compression).
  const bool evicts_now = seq.phase == SequencePhase::Decode ||
                          (seq.phase == SequencePhase::Prefill && traits_.evict_during_prefill && seq.prefilled > 0 &&
                           seq.prefilled <= seq.compress_at());
  if (!evicts_now) return {};
  seq.steps_since_eviction = 0;
  return compress(seq, cache, context);
}

EvictionStats ScoredPolicy::compress(SequenceState& seq, KvCache& cache, const AppendContext& context) {
  const KvCacheShape& shape = cache.shape();
  const int64_t L = shape.num_layers, H = shape.num_kv_heads;
  // A ratio budget is a share of what is compressed: the prompt without its question.
  const int64_t budget = budget_per_head(static_cast<int64_t>(seq.prompt.size()) - seq.question_tokens);
  EvictionStats stats;
  stats.per_head.assign(static_cast<size_t>(L * H), 0);

  // Scores of every head, computed where the statistics live (the backend), protected slots
  // (sinks, recent positions of the tokens now in the cache) set to kKeep.
  kernels::SlotScoring scoring;
  scoring.kind = traits_.score;
  scoring.pool = traits_.pool;
  scoring.pool_kernel = static_cast<int32_t>(pool_kernel_);
  scoring.sinks = config_.sinks;
  scoring.recent = protected_recent();
  scoring.context_length = seq.prefilled;
  SlotSelector selector(cache.backend());
  selector.score(cache, seq.cache_seq, scoring);
  int64_t total = 0;
  for (int64_t r = 0; r < L * H; ++r) total += selector.length(r);

  // policy.span: every slot takes its span's best score, then its position's best over the
  // layer's KV heads, before any allocation reads them, and a span the selection cuts is dropped
  // whole below. Done on the host.
  const bool spans = span_ != SpanKind::None;
  std::vector<std::vector<int32_t>> row_positions;
  std::vector<std::vector<float>> row_scores;
  if (spans) {
    for (int64_t r = 0; r < L * H; ++r) {
      row_positions.push_back(cache.positions(seq.cache_seq, r / H, r % H));
      row_scores.push_back(std::move(selector.host_scores(r, 1).front()));
      span_max_scores(row_positions.back(), seq.span_start, row_scores.back());
    }
    for (int64_t l = 0; l < L; ++l) {
      const auto first = static_cast<size_t>(l * H), count = static_cast<size_t>(H);
      shared_position_scores(std::span(row_positions).subspan(first, count), std::span(row_scores).subspan(first, count));
    }
    for (int64_t r = 0; r < L * H; ++r) selector.set_row_scores(r, row_scores[static_cast<size_t>(r)]);
  }

  // Which slots each head evicts, by allocation.
  std::vector<std::vector<int64_t>> victims;
  switch (traits_.allocation) {
    case Allocation::UniformPerHead:
      victims = selector.victims_keeping(std::vector<int64_t>(static_cast<size_t>(L * H), budget));
      break;
    case Allocation::PyramidPerLayer: {
      std::vector<int64_t> keep(static_cast<size_t>(L * H), 0);
      const auto per_layer = pyramid_budgets(budget, L, config_.pyramid_beta);
      for (int64_t l = 0; l < L; ++l) {
        for (int64_t h = 0; h < H; ++h) keep[static_cast<size_t>(l * H + h)] = per_layer[static_cast<size_t>(l)];
      }
      victims = selector.victims_keeping(keep);
      break;
    }
    case Allocation::LayerWide: {
      // Ada-KV's per-layer allocation ranks the scores on the host (one float per slot comes
      // back); the per-head selection then runs on the backend.
      std::vector<int64_t> keep(static_cast<size_t>(L * H), 0);
      const int64_t floor = static_cast<int64_t>(std::floor(config_.min_head_fraction * static_cast<double>(budget)));
      for (int64_t l = 0; l < L; ++l) {
        const std::vector<std::vector<float>> layer_scores = selector.host_scores(l * H, H);
        std::vector<std::vector<uint8_t>> layer_prot(static_cast<size_t>(H));
        for (size_t h = 0; h < layer_scores.size(); ++h) {
          for (float v : layer_scores[h]) layer_prot[h].push_back(v == kKeep ? 1 : 0);
        }
        const auto k = allocate_keep_across_heads(layer_scores, layer_prot, budget * H, floor);
        std::copy(k.begin(), k.end(), keep.begin() + static_cast<std::ptrdiff_t>(l * H));
      }
      victims = selector.victims_keeping(keep);
      break;
    }
    case Allocation::BlockGroups:
      victims = selector.victims_by_groups(shape.block_size, total - budget * L * H);
      break;
  }

  if (spans) {
    for (size_t r = 0; r < victims.size(); ++r) {
      victims[r] = whole_span_victims(row_positions[r], seq.span_start, row_scores[r], victims[r]);
    }
  }

  for (int64_t l = 0; l < L; ++l) {
    for (int64_t h = 0; h < H; ++h) {
      const size_t r = static_cast<size_t>(l * H + h);
      if (victims[r].empty()) continue;
      // Traces read positions and scores before the compaction below moves them.
      if (context.trace != nullptr) record_eviction(seq, cache, selector, context, l, h, victims[r]);
      stats.evicted_slots += static_cast<int64_t>(victims[r].size());
      stats.per_head[r] += static_cast<int64_t>(victims[r].size());
    }
  }
  stats.freed_blocks += cache.evict_rows(seq.cache_seq, victims);  // one backend call for the sequence
  return stats;
}

void ScoredPolicy::record_eviction(const SequenceState& seq, const KvCache& cache, const SlotSelector& selector,
                                   const AppendContext& context, int64_t layer, int64_t head,
                                   const std::vector<int64_t>& victims) {
  // Traces name positions and scores: read this head's back (before its eviction moves them).
  const std::vector<float> scores = selector.host_scores(layer * cache.shape().num_kv_heads + head, 1).front();
  const std::vector<int32_t> positions = cache.positions(seq.cache_seq, layer, head);
  EvictionRecord rec;
  rec.request_id = seq.id;
  rec.step = context.step;
  rec.layer = static_cast<int32_t>(layer);
  rec.head = static_cast<int32_t>(head);
  std::vector<uint8_t> gone(scores.size(), 0);
  for (int64_t i : victims) {
    gone[static_cast<size_t>(i)] = 1;
    rec.positions.push_back(positions[static_cast<size_t>(i)]);
    rec.scores.push_back(scores[static_cast<size_t>(i)]);
  }
  rec.threshold = kKeep;
  for (size_t i = 0; i < gone.size(); ++i) {
    if (!gone[i]) rec.threshold = std::min(rec.threshold, scores[i]);
  }
  context.trace->push_back(std::move(rec));
}

}  // namespace kvwb
