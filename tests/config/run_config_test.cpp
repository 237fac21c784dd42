#include "engine/config/run_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace kvwb {
namespace {

using nlohmann::json;

std::string error_of(const json& j) {
  try {
    run_config_from_json(j, "run.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, RoundTripsThroughJson) {
  RunConfig c;
  c.model = "models/demo";
  c.kv_pool_bytes = 64ll << 20;
  c.block_size = 32;
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = 256;
  c.policy.budget_scope = "head";
  c.policy.metric = "l1-avg";
  c.sampling.seed = 7;
  c.trace_sequences = {"a", "b"};
  c.record = "runs.db";
  const RunConfig back = run_config_from_json(run_config_to_json(c), "x");
  EXPECT_EQ(run_config_to_json(back), run_config_to_json(c));
  EXPECT_EQ(*back.kv_pool_bytes, 64ll << 20);
  EXPECT_EQ(*back.policy.budget_tokens, 256);
  EXPECT_FALSE(back.policy.budget_ratio.has_value());
}

TEST(RunConfig, RandomWeightsRoundTripAndStayOutOfTheJsonWhenUnset) {
  RunConfig c;
  EXPECT_FALSE(run_config_to_json(c).contains("random_weights"));
  c.random_weights = "bench/configs/llama-3-8b.json";
  c.weights_dtype = "f16";
  const RunConfig back = run_config_from_json(run_config_to_json(c), "x");
  EXPECT_EQ(back.random_weights, "bench/configs/llama-3-8b.json");
  EXPECT_EQ(back.weights_dtype, "f16");
}

TEST(RunConfig, AcceptsSizesAutoAndPolicyShorthand) {
  const RunConfig c = run_config_from_json(json{{"kv_pool_bytes", "1.5GiB"}, {"policy", "batch-max"}}, "x");
  EXPECT_EQ(*c.kv_pool_bytes, 3ll << 29);
  EXPECT_EQ(c.policy.name, "batch-max");
  EXPECT_FALSE(run_config_from_json(json{{"kv_pool_bytes", "auto"}}, "x").kv_pool_bytes.has_value());
  EXPECT_EQ(parse_bytes("64MiB", "k"), 64ll << 20);
  EXPECT_EQ(parse_bytes("512KB", "k"), 512000);
  EXPECT_EQ(parse_bytes("1000", "k"), 1000);
  EXPECT_EQ(format_bytes(64ll << 20), "64MiB");
  EXPECT_EQ(format_bytes(1536), "1.50KiB");
}

TEST(RunConfig, ErrorsNameTheFileAndTheKey) {
  struct Case {
    json input;
    std::string expected;
  };
  const Case cases[] = {
      {json{{"kv_pol_bytes", 5}}, "run.json: unknown key 'kv_pol_bytes'"},
      {json{{"policy", {{"name", "batch-max"}, {"budget_tokenz", 5}}}}, "run.json: policy: unknown key 'budget_tokenz'"},
      {json{{"policy", {{"name", "magic"}}}}, "policy.name: unknown policy 'magic'"},
      {json{{"policy", {{"budget_tokens", 0}}}}, "policy.budget_tokens: must be at least 1"},
      {json{{"policy", {{"budget_ratio", 1.5}}}}, "policy.budget_ratio: must be in (0, 1]"},
      {json{{"policy", {{"budget_ratio", 0.5}, {"budget_tokens", 8}}}}, "give budget_tokens or budget_ratio, not both"},
      {json{{"policy", {{"budget_scope", "layer"}}}}, "policy.budget_scope: must be sequence or head"},
      {json{{"block_size", 0}}, "block_size: must be in [1, 1024]"},
      {json{{"block_size", "big"}}, "field 'block_size' has the wrong type"},
      {json{{"backend", "tpu"}}, "backend: must be cpu or cuda"},
      {json{{"kv_pool_bytes", "64 parsecs"}}, "kv_pool_bytes: unknown size unit 'parsecs'"},
      {json{{"kv_pool_bytes", "-5MiB"}}, "kv_pool_bytes: size '-5MiB' must be positive"},
      {json{{"sampling", {{"top_p", 0}}}}, "sampling.top_p: must be in (0, 1]"},
      {json{{"sampling", {{"temp", 1}}}}, "run.json: sampling: unknown key 'temp'"},
      {json{{"schema_version", 99}}, "schema_version 99 is newer than this kvwb understands"},
      {json::array({1, 2}), "run.json: a run config must be a JSON object"},
      // Floats outside the integer's range: converting them was undefined behaviour (libFuzzer,
      // tests/fuzz/regressions/run_config/seed_out_of_range).
      {json::parse(R"({"sampling": {"seed": 18446749073709551615}})"), "field 'seed' is out of range"},
      {json{{"sampling", {{"seed", -1.0}}}}, "field 'seed' is out of range"},
      {json{{"block_size", 1e30}}, "field 'block_size' is out of range"},
      {json{{"policy", {{"window", -1e300}}}}, "field 'window' is out of range"},
      // Integers that do not fit and fractions are refused too, not wrapped or truncated.
      {json{{"sampling", {{"seed", -1}}}}, "field 'seed' is out of range (must be in [0, 18446744073709551615]): -1"},
      {json{{"max_batch", 2.5}}, "field 'max_batch' must be a whole number, got 2.5"},
      {json{{"kv_pool_bytes", 1e30}}, "field 'kv_pool_bytes' is out of range"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(c.input);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "input " << c.input.dump() << " gave: " << message;
    EXPECT_EQ(message.rfind("run.json", 0), 0u) << message;
  }
}

TEST(RunConfig, LoadNamesAMalformedFile) {
  const std::string path = ::testing::TempDir() + "/bad_run.json";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"model\": ", f);
  std::fclose(f);
  try {
    load_run_config(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": malformed JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_run_config(path + ".missing"), Error);
}

}  // namespace
}  // namespace kvwb
