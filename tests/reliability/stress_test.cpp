// Load beyond the soak (issue 24 item 4): many requests with random prompt and output lengths
// through one engine while the policy, the compression budget and the KV pool change live
// every few steps, with the invariants checked at every step:
//   * blocks in use <= the pool, at the step's peak and at its end;
//   * blocks in use <= blocks reserved for the running requests (their peak estimates, which
//     admission counts against the pool), at the end of every step;
//   * every retained head's positions sorted and unique, its sinks and recent tokens kept
//     (sinks and protected_recent stay fixed: a change cannot bring back what a smaller
//     protection let go);
//   * every request finishes (with exactly max_new_tokens: EOS does not stop) or is refused
//     at submission with an error naming it; a live change that a request would not survive
//     is refused and changes nothing.
// The block size is fixed for a run: the test runs once per block size. CI runs 150 requests
// per block size; KVWB_STRESS_REQUESTS=5000 is the long run of docs/reliability.md.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "tests/runtime/fixtures.h"
#include "tests/runtime/retention_checks.h"

namespace kvwb {
namespace {

int64_t requests_to_run() {
  const char* env = std::getenv("KVWB_STRESS_REQUESTS");
  return env != nullptr ? std::max<int64_t>(1, std::atoll(env)) : 150;
}

struct Tally {
  int64_t steps = 0, finished = 0, refused = 0, changes = 0, refused_changes = 0, checks = 0;
};

void stress(const Model& model, kernels::Backend& backend, int64_t block_size, int64_t requests, uint32_t seed,
            Tally& tally) {
  const std::vector<std::string> policies{"full", "decode-only", "batch-max", "kv-compress", "streaming-llm",
                                          "h2o", "snapkv", "pyramidkv", "ada-kv"};
  const KvCacheShape unit{model.config.num_layers, model.config.num_kv_heads, model.config.head_dim, block_size, 1};
  const int64_t pool = blocks_for_tokens(400, unit);  // a few long requests at once under full KV
  const int32_t sinks = 2, recent = 4;
  std::mt19937 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };

  EngineOptions o;
  o.block_size = block_size;
  o.num_blocks = pool;
  o.prefill_chunk = 16;
  o.max_batch = 8;
  o.stop_at_eos = false;
  o.policy.name = "batch-max";
  o.policy.budget_tokens = 32;
  o.policy.sinks = sinks;
  o.policy.protected_recent = recent;
  o.policy.window = recent;
  o.policy.decode_interval = 2;
  Engine engine(model, backend, o);
  const std::string where = "block size " + std::to_string(block_size);

  std::map<std::string, int64_t> expected_tokens;  // submitted requests still to finish
  int64_t submitted = 0, last_change = -1;
  auto submit_some = [&](int64_t n) {
    for (; n > 0 && submitted < requests; --n, ++submitted) {
      const std::string id = "r" + std::to_string(submitted);
      // One prompt in 40 is long: under full KV (or a pool shrunk live) it can exceed the pool.
      std::vector<int32_t> prompt(static_cast<size_t>(uniform(0, 39) == 0 ? uniform(300, 600) : uniform(1, 120)));
      for (int32_t& t : prompt) t = static_cast<int32_t>(uniform(1, model.config.vocab_size - 1));
      const int64_t max_new = uniform(1, 24);
      try {
        engine.submit(id, prompt, max_new);
        expected_tokens[id] = max_new;
      } catch (const Error& e) {
        // Only a request whose peak exceeds the pool is refused, and the error says so.
        EXPECT_NE(std::string(e.what()).find(id + ": needs"), std::string::npos) << e.what();
        ++tally.refused;
      }
    }
  };

  for (int64_t step = 0; !engine.done() || submitted < requests; ++step) {
    ASSERT_LT(step, 200 * requests + 1000) << where << ": no progress";
    submit_some(uniform(0, 3));  // arrivals keep coming while the engine runs
    if (step % 5 == 4) {
      EngineOptions changed = engine.options();
      changed.policy.name = policies[static_cast<size_t>(uniform(0, static_cast<int64_t>(policies.size()) - 1))];
      changed.policy.budget_tokens = uniform(8, 96);
      changed.num_blocks = pool * uniform(35, 100) / 100;
      try {
        engine.update(changed);
        ++tally.changes;
        last_change = step;
      } catch (const Error&) {
        ++tally.refused_changes;  // a running or waiting request would not fit: nothing changed
      }
    }
    engine.request_retention_snapshot();
    const StepStats s = engine.step();
    ++tally.steps;
    const int64_t limit = engine.cache().block_limit();
    ASSERT_LE(s.peak_blocks_used, limit) << where << " step " << step;
    ASSERT_LE(s.blocks_used, limit) << where << " step " << step;
    ASSERT_LE(engine.cache().used_blocks(), engine.reserved_blocks())
        << where << " step " << step << " (" << step - last_change << " after the last change) under "
        << engine.options().policy.name;
    const int32_t protected_sinks = engine.options().policy.name == "full" ? 0 : sinks;
    for (const HeadRetention& h : s.retention) {
      ASSERT_EQ(testing_support::retention_problem(h, protected_sinks, recent), "") << where << " step " << step;
    }
    tally.checks += 3 + static_cast<int64_t>(s.retention.size());
    for (const FinishedRequest& f : engine.take_finished()) {
      const auto it = expected_tokens.find(f.id);
      ASSERT_NE(it, expected_tokens.end()) << f.id << " finished twice or was never submitted";
      EXPECT_EQ(static_cast<int64_t>(f.output.size()), it->second) << f.id;
      expected_tokens.erase(it);
      ++tally.finished;
    }
  }
  EXPECT_TRUE(expected_tokens.empty()) << expected_tokens.size() << " requests never finished (" << where << ")";
  EXPECT_EQ(engine.cache().used_blocks(), 0) << where;
}

TEST(Stress, RandomLoadWithLiveChangesOfPolicyBudgetAndPoolKeepsEveryInvariant) {
  const auto model = load_model(testing_support::fixture_dir("llama-tied"));
  auto backend = kernels::make_cpu_backend(1);
  const int64_t requests = requests_to_run();
  Tally tally;
  for (const int64_t block_size : {4, 16}) stress(*model, *backend, block_size, requests, 7 + block_size, tally);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("stress: %lld requests per block size (4, 16): %lld finished, %lld refused at submission; %lld steps, "
              "%lld live changes (%lld refused), %lld invariant checks, peak RSS %.1f MiB\n",
              static_cast<long long>(requests), static_cast<long long>(tally.finished),
              static_cast<long long>(tally.refused), static_cast<long long>(tally.steps),
              static_cast<long long>(tally.changes), static_cast<long long>(tally.refused_changes),
              static_cast<long long>(tally.checks),
              static_cast<double>(usage.ru_maxrss) / 1024.0);
  EXPECT_EQ(tally.finished + tally.refused, 2 * requests);
  EXPECT_GT(tally.changes, 0);
}

}  // namespace
}  // namespace kvwb
