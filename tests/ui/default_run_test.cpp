// The config the window opens with: valid, and on SmolLM2 the first run of docs/workbench.md
// ("The first run"): a fixed KV pool, an evicting policy, and every request it runs traced, so
// the token view can show any of them.
#include <gtest/gtest.h>

#include <set>

#include "engine/workload/workload.h"
#include "ui/controller/default_run.h"

namespace kvwb {
namespace {

TEST(DefaultRun, IsValidAndOnSmolLM2TracesEveryRequestItRunsInAFixedPool) {
  const RunConfig c = default_run_config();
  EXPECT_NO_THROW(validate(c, "default run"));
  EXPECT_NE(c.policy.name, "full");  // the maps and the token view have something to show
  if (c.model != "smollm2") GTEST_SKIP() << "SmolLM2 is not in the model cache (scripts/fetch-models.sh)";
  ASSERT_TRUE(c.kv_pool_bytes.has_value());  // auto would fit every request: no batch gain to see
  ASSERT_TRUE(c.max_requests.has_value());
  const Workload w = load_workload(c.workload);
  ASSERT_EQ(static_cast<int64_t>(c.trace_sequences.size()), *c.max_requests);
  std::set<std::string> first;
  for (int64_t i = 0; i < *c.max_requests; ++i) first.insert(w.requests[static_cast<size_t>(i)].id);
  EXPECT_EQ(std::set<std::string>(c.trace_sequences.begin(), c.trace_sequences.end()), first);
}

}  // namespace
}  // namespace kvwb
