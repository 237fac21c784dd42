// The KV budget invariant (docs/architecture.md, "Invariants"): blocks in use never exceed the budget, at any step,
// under any policy, also while the pool and the compression budget change live. Debug and
// sanitizer builds also check it inside the engine at every step (engine/core/invariant.h);
// these tests check it from outside in every build, and that the inside check fires.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/core/invariant.h"
#include "engine/runtime/engine.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::fixture_dir;

TEST(KvBudgetInvariant, TheCheckPassesAtTheBudgetAndAbortsAboveIt) {
  check_kv_budget(0, 0, 1, "empty");
  check_kv_budget(7, 7, 1, "full");
  EXPECT_DEATH(check_kv_budget(8, 7, 42, "end of step"), "invariant broken: step 42 \\(end of step\\): 8 KV blocks in use, budget 7");
}

TEST(KvBudgetInvariant, HoldsAtEveryStepUnderEveryPolicyWhileThePoolAndBudgetChangeLive) {
  const auto model = load_model(fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  const KvCacheShape unit{model->config.num_layers, model->config.num_kv_heads, model->config.head_dim, 4, 1};
  const int64_t pool = 4 * blocks_for_tokens(60, unit);  // about four long requests at once
  for (const std::string policy : {"full", "decode-only", "batch-max", "kv-compress", "streaming-llm", "h2o", "snapkv",
                                   "pyramidkv", "ada-kv"}) {
    EngineOptions o;
    o.block_size = 4;
    o.num_blocks = pool;
    o.prefill_chunk = 8;
    o.stop_at_eos = false;
    o.policy.name = policy;
    if (policy != "full") {
      o.policy.budget_tokens = 24;
      o.policy.sinks = 2;
      o.policy.protected_recent = 4;
      o.policy.window = 4;
      o.policy.decode_interval = 2;
    }
    Engine engine(*model, *backend, o);
    for (int i = 0; i < 10; ++i) {
      std::vector<int32_t> prompt;
      for (int t = 0; t < 20 + 7 * (i % 5); ++t) prompt.push_back(static_cast<int32_t>(1 + (i * 37 + t * 11) % (model->config.vocab_size - 1)));
      engine.submit("r" + std::to_string(i), prompt, 6 + i % 4);
    }
    int64_t limit = pool, accepted = 0;
    engine.add_observer([&](const StepStats& s) {
      EXPECT_LE(s.peak_blocks_used, limit) << policy << " step " << s.step;
      EXPECT_LE(s.blocks_used, limit) << policy << " step " << s.step;
      EXPECT_EQ(s.blocks_total, limit) << policy << " step " << s.step;
    });
    // Every third step: the pool shrinks to 60 %, 45 % or stays whole, and the compression
    // budget moves; an update that a waiting or running request would not survive is refused
    // and changes nothing.
    const double fractions[] = {0.6, 1.0, 0.45, 0.8};
    const int64_t budgets[] = {16, 32, 20, 40};
    for (int step = 0; !engine.done(); ++step) {
      ASSERT_LT(step, 5000) << policy << ": no progress";
      if (step % 3 == 2) {
        EngineOptions changed = engine.options();
        changed.num_blocks = static_cast<int64_t>(static_cast<double>(pool) * fractions[(step / 3) % 4]);
        if (policy != "full") changed.policy.budget_tokens = budgets[(step / 3) % 4];
        try {
          engine.update(changed);
          limit = changed.num_blocks;
          ++accepted;
        } catch (const Error&) {
          // refused: the limit stays
        }
      }
      engine.step();
      engine.take_finished();
    }
    EXPECT_GT(accepted, 0) << policy;
    EXPECT_EQ(engine.cache().used_blocks(), 0) << policy;
  }
}

}  // namespace
}  // namespace kvwb
