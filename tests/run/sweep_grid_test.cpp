// The grid of a sweep: the reference first, every (dtype x) policy x budget x chunk at the same
// pool, duplicates left out, and bad input named.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "run/sweep/sweep_grid.h"
#include "run/sweep/sweep_lists.h"

namespace kvwb {
namespace {

RunConfig base() {
  RunConfig c;
  c.workload = "w.jsonl";
  c.kv_pool_bytes = int64_t{8} << 20;
  c.prefill_chunk = 64;
  c.record = "some.db";
  c.policy.name = "snapkv";
  c.policy.budget_ratio = 0.5;
  return c;
}

std::vector<std::string> labels_of(const std::vector<SweepPoint>& points) {
  std::vector<std::string> labels;
  for (const SweepPoint& p : points) labels.push_back(p.label);
  return labels;
}

std::string error_of(const RunConfig& c, const SweepGrid& g) {
  try {
    sweep_points(c, g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SweepGrid, ReferenceFirstThenPolicyBudgetChunk) {
  const auto points = sweep_points(base(), {{"batch-max", "kv-compress"}, {32, 128}, {16, 64}});
  ASSERT_EQ(points.size(), 1u + 2 * 2 * 2);
  EXPECT_TRUE(points[0].reference);
  EXPECT_EQ(points[0].config.policy.name, "full");
  EXPECT_FALSE(points[0].config.policy.budget_tokens.has_value());
  EXPECT_EQ(points[0].config.prefill_chunk, 16);  // the first chunk of the list
  EXPECT_EQ(points[1].label, "batch-max, budget 32, chunk 16, f16");
  EXPECT_EQ(points[2].label, "batch-max, budget 32, chunk 64, f16");
  EXPECT_EQ(points[3].label, "batch-max, budget 128, chunk 16, f16");
  EXPECT_EQ(points[8].label, "kv-compress, budget 128, chunk 64, f16");
  for (const SweepPoint& p : points) {
    EXPECT_EQ(p.config.kv_pool_bytes, base().kv_pool_bytes);  // one pool for all
    EXPECT_TRUE(p.config.record.empty());
    EXPECT_FALSE(p.config.policy.budget_ratio.has_value());  // the base's ratio gave way to tokens
    EXPECT_EQ(p.reference, &p == &points[0]);
  }
}

TEST(SweepGrid, FullInTheListAddsOnlyChunksTheReferenceDoesNotCover) {
  const auto points = sweep_points(base(), {{"full", "batch-max", "batch-max"}, {32, 32}, {}});
  ASSERT_EQ(points.size(), 2u);  // reference (chunk 64), batch-max 32
  EXPECT_EQ(points[1].label, "batch-max, budget 32, chunk 64, f16");
  const auto chunked = sweep_points(base(), {{"full"}, {}, {64, 128}});
  ASSERT_EQ(chunked.size(), 2u);
  EXPECT_EQ(chunked[1].label, "full, chunk 128, f16");
  EXPECT_FALSE(chunked[1].reference);
}

TEST(SweepGrid, PerHeadScopeShowsInTheLabel) {
  RunConfig c = base();
  c.policy.budget_scope = "head";
  EXPECT_EQ(sweep_points(c, {{"batch-max"}, {32}, {}})[1].label, "batch-max, budget 32 per head, chunk 64, f16");
}

TEST(SweepGrid, WithoutDtypesTheReferenceIsTheBaseDtype) {
  RunConfig c = base();
  c.kv_dtype = "q8_0";
  const SweepGrid grid{{"batch-max"}, {32}, {}};
  EXPECT_EQ(reference_kv_dtype(c, grid), "q8_0");
  const auto points = sweep_points(c, grid);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].config.kv_dtype, "q8_0");
  EXPECT_EQ(points[1].label, "batch-max, budget 32, chunk 64, q8_0");
}

TEST(SweepGrid, KvDtypesAddTheDimensionAgainstAnF32Reference) {
  SweepGrid grid{{"batch-max"}, {32, 128}, {}};
  grid.kv_dtypes = {"f16", "q4_0", "f32"};
  EXPECT_EQ(reference_kv_dtype(base(), grid), "f32");
  const auto points = sweep_points(base(), grid);
  // reference (full f32), then per dtype: its full KV (precision alone), batch-max x 2 budgets;
  // f32's full KV is the reference itself and is left out.
  std::vector<std::string> labels;
  for (const SweepPoint& p : points) labels.push_back(p.label);
  const std::vector<std::string> expected = {
      "full, chunk 64, f32",
      "full, chunk 64, f16",
      "batch-max, budget 32, chunk 64, f16",
      "batch-max, budget 128, chunk 64, f16",
      "full, chunk 64, q4_0",
      "batch-max, budget 32, chunk 64, q4_0",
      "batch-max, budget 128, chunk 64, q4_0",
      "batch-max, budget 32, chunk 64, f32",
      "batch-max, budget 128, chunk 64, f32",
  };
  EXPECT_EQ(labels, expected);
  for (const SweepPoint& p : points) {
    EXPECT_EQ(p.label.substr(p.label.rfind(", ") + 2), p.config.kv_dtype);  // the label names the recorded dtype
    EXPECT_EQ(run_config_to_json(p.config)["kv_dtype"], p.config.kv_dtype);
    EXPECT_EQ(p.config.kv_pool_bytes, base().kv_pool_bytes);  // one pool: precision buys tokens, not bytes
    EXPECT_EQ(p.reference, &p == &points[0]);
  }
}

TEST(SweepGrid, BadInputIsNamed) {
  EXPECT_NE(error_of(base(), {{}, {32}, {}}).find("no policies given"), std::string::npos);
  const std::string unknown = error_of(base(), {{"batch-max", "fast-kv"}, {}, {}});
  EXPECT_NE(unknown.find("unknown policy 'fast-kv'"), std::string::npos) << unknown;
  EXPECT_NE(error_of(base(), {{"batch-max"}, {}, {}}).find("no budgets given: policy 'batch-max'"), std::string::npos);
  EXPECT_NE(error_of(base(), {{"batch-max"}, {0}, {}}).find("budget 0 tokens"), std::string::npos);
  EXPECT_NE(error_of(base(), {{"batch-max"}, {8}, {0}}).find("prefill chunk 0"), std::string::npos);
  RunConfig automatic = base();
  automatic.kv_pool_bytes.reset();
  EXPECT_NE(error_of(automatic, {{"batch-max"}, {8}, {}}).find("KV pool must be fixed"), std::string::npos);
  EXPECT_EQ(error_of(base(), {{"full"}, {}, {}}), "");  // full alone needs no budget
  SweepGrid bad_dtype{{"batch-max"}, {8}, {}};
  bad_dtype.kv_dtypes = {"f16", "q5_1"};
  const std::string dtype = error_of(base(), bad_dtype);
  EXPECT_NE(dtype.find("sweep"), std::string::npos) << dtype;
  EXPECT_NE(dtype.find("q5_1"), std::string::npos) << dtype;
  SweepGrid bad_span{{"batch-max"}, {8}, {}};
  bad_span.spans = {"none", "sentence"};
  const std::string span = error_of(base(), bad_span);
  EXPECT_NE(span.find("policy.span"), std::string::npos) << span;
  EXPECT_NE(span.find("sentence"), std::string::npos) << span;
  SweepGrid bad_guidance{{"batch-max"}, {8}, {}};
  bad_guidance.chunk_guidances = {"none", "answer"};
  const std::string guidance = error_of(base(), bad_guidance);
  EXPECT_NE(guidance.find("policy.chunk_guidance"), std::string::npos) << guidance;
  EXPECT_NE(guidance.find("answer"), std::string::npos) << guidance;
}

TEST(SweepGrid, SpansAddTheDimensionToTheEvictingPointsOnly) {
  SweepGrid grid{{"snapkv"}, {32, 128}, {}};
  grid.spans = {"none", "word"};
  RunConfig c = base();
  c.policy.span = "line";  // the list overrides the base config; full KV runs with none
  std::vector<std::string> labels;
  for (const SweepPoint& p : sweep_points(c, grid)) labels.push_back(p.label);
  const std::vector<std::string> expected = {
      "full, chunk 64, f16",
      "snapkv, budget 32, chunk 64, f16",
      "snapkv, budget 32, span word, chunk 64, f16",
      "snapkv, budget 128, chunk 64, f16",
      "snapkv, budget 128, span word, chunk 64, f16",
  };
  EXPECT_EQ(labels, expected);
  EXPECT_EQ(sweep_points(c, {{"snapkv"}, {32}, {}}).back().label, "snapkv, budget 32, span line, chunk 64, f16");
}

// Chunk guidance doubles only the points it changes: batch-max evicts between chunks, SnapKV does not.
TEST(SweepGrid, ChunkGuidanceAddsTheDimensionWhereItApplies) {
  SweepGrid grid{{"batch-max", "snapkv"}, {32}, {}};
  grid.chunk_guidances = {"none", "question"};
  std::vector<std::string> labels;
  for (const SweepPoint& p : sweep_points(base(), grid)) labels.push_back(p.label);
  const std::vector<std::string> expected = {
      "full, chunk 64, f16",
      "batch-max, budget 32, chunk 64, f16",
      "batch-max, budget 32, question-guided, chunk 64, f16",
      "snapkv, budget 32, chunk 64, f16",
  };
  EXPECT_EQ(labels, expected);
}

// A ratio is a budget like a token count: the evicting points run at each, tokens first.
TEST(SweepGrid, BudgetRatiosJoinTheBudgetAxis) {
  SweepGrid grid{{"snapkv"}, {32}, {}};
  grid.budget_ratios = {0.5, 0.25};
  const auto points = sweep_points(base(), grid);
  const std::vector<std::string> expected = {
      "full, chunk 64, f16",
      "snapkv, budget 32, chunk 64, f16",
      "snapkv, budget ratio 0.5, chunk 64, f16",
      "snapkv, budget ratio 0.25, chunk 64, f16",
  };
  EXPECT_EQ(labels_of(points), expected);
  EXPECT_FALSE(points[0].config.policy.budget_ratio.has_value());  // full KV has no budget
  EXPECT_EQ(points[1].config.policy.budget_tokens, 32);
  EXPECT_FALSE(points[1].config.policy.budget_ratio.has_value());
  EXPECT_EQ(points[3].config.policy.budget_ratio, 0.25);
  EXPECT_FALSE(points[3].config.policy.budget_tokens.has_value());
  // Ratios alone are enough for a policy that needs a budget.
  SweepGrid ratios_only{{"batch-max"}, {}, {}};
  ratios_only.budget_ratios = {0.5};
  ASSERT_EQ(sweep_points(base(), ratios_only).size(), 2u);
  EXPECT_EQ(sweep_points(base(), ratios_only)[1].label, "batch-max, budget ratio 0.5, chunk 64, f16");
}

// Each knob multiplies the points whose policy reads it and no other: batch-max neither pools nor
// has Ada-KV's floors, SnapKV pools but has no floors, Ada-KV reads all three.
TEST(SweepGrid, TunedKnobsMultiplyOnlyThePointsWhosePolicyReadsThem) {
  SweepGrid grid{{"batch-max", "snapkv", "ada-kv"}, {32}, {}};
  grid.dimensions = {{"policy.pool_kernel", {1, 7}},
                     {"policy.protected_recent", {0, 64}},
                     {"policy.min_head_fraction", {0.05, 0.2}}};
  const auto points = sweep_points(base(), grid);
  ASSERT_EQ(points.size(), 1u + 2 + 2 * 2 + 2 * 2 * 2);
  EXPECT_EQ(points[0].label, "full, chunk 64, f16");
  EXPECT_EQ(points[0].knobs, "");
  EXPECT_EQ(points[0].config.policy.protected_recent, base().policy.protected_recent);  // full reads none
  EXPECT_EQ(points[1].label, "batch-max, budget 32, protected recent 0, chunk 64, f16");
  EXPECT_EQ(points[2].label, "batch-max, budget 32, protected recent 64, chunk 64, f16");
  EXPECT_EQ(points[3].label, "snapkv, budget 32, pool kernel 1, protected recent 0, chunk 64, f16");
  EXPECT_EQ(points[6].label, "snapkv, budget 32, pool kernel 7, protected recent 64, chunk 64, f16");
  EXPECT_EQ(points[7].label, "ada-kv, budget 32, pool kernel 1, protected recent 0, min head fraction 0.05, chunk 64, f16");
  EXPECT_EQ(points[14].label, "ada-kv, budget 32, pool kernel 7, protected recent 64, min head fraction 0.2, chunk 64, f16");
  EXPECT_EQ(points[14].knobs, "pool kernel 7, protected recent 64, min head fraction 0.2");
  // The label names what the point runs with, and a knob a policy does not read keeps the base value.
  EXPECT_EQ(points[2].config.policy.pool_kernel, base().policy.pool_kernel);
  EXPECT_EQ(points[2].config.policy.min_head_fraction, base().policy.min_head_fraction);
  EXPECT_EQ(points[6].config.policy.pool_kernel, 7);
  EXPECT_EQ(points[6].config.policy.protected_recent, 64);
  EXPECT_EQ(points[6].config.policy.min_head_fraction, base().policy.min_head_fraction);
  EXPECT_EQ(points[14].config.policy.min_head_fraction, 0.2);
  EXPECT_EQ(run_config_to_json(points[14].config)["policy"]["pool_kernel"], 7);  // the recorded config keeps it
}

// The window is read by batch-max only when question guidance falls back to the prompt's last window.
TEST(SweepGrid, WindowsMultiplyGuidedBatchMaxOnly) {
  SweepGrid grid{{"batch-max"}, {32}, {16, 64}};
  grid.chunk_guidances = {"none", "question"};
  grid.dimensions = {{"policy.window", {16, 32}}};
  const std::vector<std::string> expected = {
      "full, chunk 16, f16",
      "batch-max, budget 32, chunk 16, f16",
      "batch-max, budget 32, chunk 64, f16",
      "batch-max, budget 32, question-guided, window 16, chunk 16, f16",
      "batch-max, budget 32, question-guided, window 16, chunk 64, f16",
      "batch-max, budget 32, question-guided, window 32, chunk 16, f16",
      "batch-max, budget 32, question-guided, window 32, chunk 64, f16",
  };
  EXPECT_EQ(labels_of(sweep_points(base(), grid)), expected);
}

TEST(SweepGrid, BadTunedKnobsAreNamed) {
  SweepGrid grid{{"snapkv"}, {32}, {}};
  auto error_with = [&](std::vector<SweepDimension> dimensions, std::vector<double> ratios = {}) {
    SweepGrid g = grid;
    g.dimensions = std::move(dimensions);
    g.budget_ratios = std::move(ratios);
    return error_of(base(), g);
  };
  EXPECT_EQ(error_with({{"policy.name", {"h2o"}}}), "sweep: 'policy.name' is not a policy knob a sweep can tune");
  EXPECT_EQ(error_with({{"kv_pool_bytes", {1024}}}), "sweep: 'kv_pool_bytes' is not a policy knob a sweep can tune");
  EXPECT_EQ(error_with({{"policy.window", {8}}, {"policy.window", {16}}}), "sweep: policy.window given twice");
  EXPECT_EQ(error_with({{"policy.window", {}}}), "sweep: policy.window: no values");
  EXPECT_EQ(error_with({{"policy.pool_kernel", {1, 4}}}),
            "sweep: policy.pool_kernel 4: must be 0 (the policy's default) or an odd number >= 1");
  EXPECT_EQ(error_with({{"policy.min_head_fraction", {1.5}}}), "sweep: policy.min_head_fraction 1.5: must be in [0, 1]");
  EXPECT_EQ(error_with({}, {0.5, 0}), "sweep: budget ratio 0: must be in (0, 1]");
}

// The CLI's lists: each item parsed and range-checked by the field's schema row, errors naming the flag.
TEST(SweepLists, ConfigValuesAreCheckedByTheSchema) {
  EXPECT_EQ(parse_config_values("1, 7", "policy.pool_kernel", "--pool-kernels"), (std::vector<nlohmann::json>{1, 7}));
  EXPECT_EQ(parse_config_values("0.5,0.25", "policy.budget_ratio", "--budget-ratios"),
            (std::vector<nlohmann::json>{0.5, 0.25}));
  auto error_of_list = [](const std::string& text, std::string_view key, const std::string& flag) -> std::string {
    try {
      parse_config_values(text, key, flag);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of_list("1,4", "policy.pool_kernel", "--pool-kernels"),
            "--pool-kernels: 4 must be 0 (the policy's default) or an odd number >= 1");
  EXPECT_EQ(error_of_list("16,x", "policy.window", "--windows"), "--windows: 'x' is not a whole number");
  EXPECT_EQ(error_of_list("0", "policy.window", "--windows"), "--windows: 0 must be at least 1");
  EXPECT_EQ(error_of_list("0.5,1.5", "policy.budget_ratio", "--budget-ratios"), "--budget-ratios: 1.5 must be in (0, 1]");
  EXPECT_EQ(error_of_list("", "policy.sinks", "--sinks"), "--sinks: empty list");
}

}  // namespace
}  // namespace kvwb
