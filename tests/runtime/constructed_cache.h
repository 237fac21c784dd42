#pragma once
// A hand-made cache for policy tests: one sequence of 8 prompt positions in a cache of 1 layer,
// 2 KV heads, head_dim 4, block size 2, whose attention statistics a test sets slot by slot, so
// that what a policy keeps can be computed by hand.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "engine/runtime/policy.h"
#include "kernels/backend.h"

namespace kvwb::testing_support {

struct SlotStats {
  float sum = 0, sq = 0, obs = 0;
};

class ConstructedCache {
 public:
  ConstructedCache() : backend_(kernels::make_cpu_backend(1)), cache_(*backend_, KvCacheShape{1, 2, 4, 2, 16}) {
    seq_.id = "s";
    seq_.cache_seq = cache_.add_sequence();
    seq_.prompt.assign(8, 1);
    seq_.max_new_tokens = 1;
    seq_.phase = SequencePhase::Prefill;
    seq_.prefilled = 8;
    EXPECT_TRUE(cache_.append(seq_.cache_seq, 8));
    std::vector<float> kv(8 * 2 * 4, 0.5f);
    std::vector<int32_t> dst(16), pos(8);
    for (int t = 0; t < 8; ++t) {
      pos[static_cast<size_t>(t)] = t;
      for (int h = 0; h < 2; ++h) dst[static_cast<size_t>(t * 2 + h)] = cache_.slot(seq_.cache_seq, 0, h, t);
    }
    backend_->kv_write(cache_.pool_view(), kv.data(), kv.data(), 8, dst.data(), pos.data());
  }
  SequenceState& seq() { return seq_; }
  KvCache& cache() { return cache_; }
  std::vector<int32_t> positions(int head) const { return cache_.positions(seq_.cache_seq, 0, head); }

  // Sets the statistics of the slot holding each position still cached.
  void set_stats(const std::function<SlotStats(int head, int32_t position)>& stats) {
    const kernels::PagedKv view = cache_.pool_view();
    for (int h = 0; h < 2; ++h) {
      const std::vector<int32_t> held = positions(h);
      for (size_t i = 0; i < held.size(); ++i) {
        const int32_t slot = cache_.slot(seq_.cache_seq, 0, h, static_cast<int64_t>(i));
        const SlotStats s = stats(h, held[i]);
        view.att_sum[slot] = s.sum;
        view.att_sq[slot] = s.sq;
        view.n_obs[slot] = s.obs;
      }
    }
  }

  // The policy's eviction once the whole prompt is in (its decisions go to `trace` when given).
  EvictionStats evict(const PolicyConfig& config, std::vector<EvictionRecord>* trace = nullptr) {
    auto policy = make_policy(config);
    AppendContext ctx;
    ctx.appended = 8;
    ctx.prefill_done = true;
    ctx.in_prefill = true;
    ctx.trace = trace;
    return policy->after_append(seq_, cache_, ctx);
  }

 private:
  std::unique_ptr<kernels::Backend> backend_;
  KvCache cache_;
  SequenceState seq_;
};

}  // namespace kvwb::testing_support
