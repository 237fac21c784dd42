// Plan once per step: the forward pass uploads its block tables and write slots once per step,
// not once per layer, and an eviction compacts all rows of a sequence in one backend call. Run
// on random-weight models of 2 and 6 layers (same shapes otherwise, the profiler counting the
// backend's calls): the per-step counts must not grow with the depth.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/json_file.h"
#include "run/run.h"

namespace kvwb {
namespace {

std::string scratch(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/kvwb_plan_once";
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

std::string config_with_layers(int layers) {
  Json c = read_json_file(std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied/config.json");
  c["num_hidden_layers"] = layers;
  const std::string path = scratch("layers" + std::to_string(layers) + ".json");
  std::ofstream(path) << c.dump();
  return path;
}

struct Calls {
  int64_t max_uploads_per_step = 0;      // copy_from_host spans in one step
  int64_t max_compactions_per_step = 0;  // compact spans in one step
  int64_t kv_moves = 0, compactions = 0;
};

Calls count_calls(int layers) {
  const std::string workload = scratch("w.jsonl");
  std::ofstream(workload) << "{\"id\": \"a\", \"prompt\": \"" << std::string(70, 'x') << "\", \"max_new_tokens\": 10}\n"
                          << "{\"id\": \"b\", \"prompt\": \"" << std::string(50, 'y') << "\", \"max_new_tokens\": 10}\n";
  RunConfig c;
  c.random_weights = config_with_layers(layers);
  c.weights_dtype = "f32";
  c.workload = workload;
  c.kv_pool_bytes = int64_t{4} << 20;
  c.block_size = 8;
  c.prefill_chunk = 16;
  c.threads = 1;
  c.policy.name = "batch-max";
  c.policy.budget_tokens = 24;
  kvwb::Run run(c);
  run.enable_profiling();
  run.run_to_completion();
  const Trace trace = run.take_trace();
  std::map<int64_t, int64_t> uploads, compactions;
  Calls calls;
  for (const Span& s : trace.spans) {
    if (s.name == "copy_from_host") ++uploads[s.step];
    if (s.name == "kv_move") ++calls.kv_moves;
    if (s.name == "compact") {
      ++calls.compactions;
      ++compactions[s.step];
    }
  }
  for (const auto& [step, n] : uploads) calls.max_uploads_per_step = std::max(calls.max_uploads_per_step, n);
  for (const auto& [step, n] : compactions) calls.max_compactions_per_step = std::max(calls.max_compactions_per_step, n);
  return calls;
}

TEST(PlanOncePerStep, UploadsAndCompactionsDoNotGrowWithTheNumberOfLayers) {
  const Calls shallow = count_calls(2);
  const Calls deep = count_calls(6);
  ASSERT_GT(shallow.max_uploads_per_step, 0);
  EXPECT_EQ(deep.max_uploads_per_step, shallow.max_uploads_per_step);
  // One compaction per evicting sequence and step (two requests here), not one per (layer, head),
  // and each is at most one kv_move.
  ASSERT_GT(deep.compactions, 0) << "the budget should make the cache compact";
  EXPECT_LE(deep.max_compactions_per_step, 2);
  EXPECT_LE(shallow.max_compactions_per_step, 2);
  EXPECT_LE(deep.kv_moves, deep.compactions);
  EXPECT_LE(shallow.kv_moves, shallow.compactions);
}

}  // namespace
}  // namespace kvwb
