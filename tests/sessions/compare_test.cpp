// Session comparison against hand-computed expectations: config differences key by key,
// summary metrics with their ratios, peak memory from steps, accuracy per task.
#include <gtest/gtest.h>

#include "sessions/session_compare.h"

namespace kvwb {
namespace {

Session make(double throughput, int64_t peak_blocks, const nlohmann::json& config, const nlohmann::json& tasks) {
  Session s;
  s.info.id = 1;
  s.info.name = "s";
  s.info.config = config;
  s.summary = {{"generated_tokens_per_second", throughput},
               {"total_tokens_per_second", 2 * throughput},
               {"mean_batch", 3.5},
               {"max_batch", 6},
               {"peak_blocks_used", peak_blocks},
               {"kv_pool_bytes", 1 << 20},
               {"steps", 10},
               {"tasks", tasks},
               {"accuracy", {{"count", 4}, {"score", 0.5}}}};
  StepStats step;
  step.blocks_used = 10;
  step.kv_bytes_used = 10 * 2048;  // 2048 bytes per block
  step.wall_seconds = 0.004;
  s.steps = {step, step};
  return s;
}

const ConfigDifference* find(const std::vector<ConfigDifference>& diffs, const std::string& key) {
  for (const ConfigDifference& d : diffs) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

const MetricComparison* metric(const SessionComparison& c, const std::string& name) {
  for (const MetricComparison& m : c.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

TEST(SessionCompare, ConfigDifferencesAreListedKeyByKey) {
  const nlohmann::json a = {{"model", "demo"}, {"block_size", 16}, {"policy", {{"name", "full"}, {"window", 32}}},
                            {"trace_sequences", {"a", "b"}}};
  const nlohmann::json b = {{"model", "demo"}, {"block_size", 16.0}, {"policy", {{"name", "kv-compress"}, {"window", 32},
                            {"budget_tokens", 256}}}, {"trace_sequences", {"a"}}};
  const std::vector<ConfigDifference> d = config_differences(a, b);
  ASSERT_EQ(d.size(), 3u);  // block_size 16 vs 16.0 is the same setting
  const ConfigDifference* name = find(d, "policy.name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->a, "full");
  EXPECT_EQ(name->b, "kv-compress");
  const ConfigDifference* budget = find(d, "policy.budget_tokens");
  ASSERT_NE(budget, nullptr);
  EXPECT_TRUE(budget->a.is_null());
  EXPECT_EQ(budget->b, 256);
  ASSERT_NE(find(d, "trace_sequences"), nullptr);
  EXPECT_TRUE(config_differences(a, a).empty());
}

TEST(SessionCompare, MetricsSideBySideWithRatios) {
  const nlohmann::json tasks_a = {{"qa", {{"count", 2}, {"score", 0.5}}}, {"sum", {{"count", 2}, {"score", 0.25}}}};
  const nlohmann::json tasks_b = {{"qa", {{"count", 2}, {"score", 0.75}}}, {"code", {{"count", 1}, {"score", 1.0}}}};
  const Session a = make(100, 40, {{"policy", "full"}}, tasks_a);
  Session b = make(250, 10, {{"policy", "kv-compress"}}, tasks_b);
  b.config_changes.push_back({5, {{"policy", "kv-compress"}}});
  const SessionComparison c = compare_sessions(a, b);

  ASSERT_EQ(c.config.size(), 1u);
  EXPECT_EQ(c.config[0].key, "policy");

  const MetricComparison* tput = metric(c, "throughput (generated)");
  ASSERT_NE(tput, nullptr);
  EXPECT_EQ(tput->a, 100);
  EXPECT_EQ(tput->b, 250);
  EXPECT_DOUBLE_EQ(*tput->ratio(), 2.5);
  const MetricComparison* peak = metric(c, "peak KV memory");
  ASSERT_NE(peak, nullptr);
  EXPECT_EQ(peak->a, 40 * 2048);
  EXPECT_EQ(peak->b, 10 * 2048);
  EXPECT_DOUBLE_EQ(*peak->ratio(), 0.25);
  const MetricComparison* step = metric(c, "mean step time");
  ASSERT_NE(step, nullptr);
  EXPECT_DOUBLE_EQ(*step->a, 4.0);
  EXPECT_DOUBLE_EQ(*metric(c, "mean batch")->ratio(), 1.0);
  EXPECT_EQ(metric(c, "live config changes")->b, 1);
  EXPECT_FALSE(metric(c, "live config changes")->ratio().has_value());  // 0 changes in A

  ASSERT_EQ(c.tasks.size(), 3u);  // code, qa, sum (sorted)
  EXPECT_EQ(c.tasks[0].task, "code");
  EXPECT_FALSE(c.tasks[0].score_a.has_value());
  EXPECT_EQ(c.tasks[0].count_b, 1);
  EXPECT_EQ(c.tasks[1].task, "qa");
  EXPECT_EQ(c.tasks[1].score_a, 0.5);
  EXPECT_EQ(c.tasks[1].score_b, 0.75);
  EXPECT_FALSE(c.tasks[2].score_b.has_value());

  const std::string text = format_comparison(c);
  EXPECT_NE(text.find("policy"), std::string::npos) << text;
  EXPECT_NE(text.find("2.500"), std::string::npos) << text;  // the throughput ratio
  EXPECT_NE(text.find("1.500"), std::string::npos) << text;  // qa: 0.75 / 0.5
}

TEST(SessionCompare, AnUnfinishedSessionShowsGapsNotZeros) {
  Session a = make(100, 40, nlohmann::json::object(), nlohmann::json::object());
  Session b;
  b.info.config = nlohmann::json::object();
  const SessionComparison c = compare_sessions(a, b);
  const MetricComparison* tput = metric(c, "throughput (generated)");
  ASSERT_NE(tput, nullptr);
  EXPECT_FALSE(tput->b.has_value());
  EXPECT_FALSE(tput->ratio().has_value());
  EXPECT_FALSE(metric(c, "peak KV memory")->b.has_value());
}

}  // namespace
}  // namespace kvwb
