// Tuned-config export: the config at a step is the initial one with the changes made up to
// it; bad stored configs are errors naming the key; the vLLM-kvcompress flags match the
// documented mapping exactly, and every knob without a counterpart is warned about.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/core/error.h"
#include "sessions/config_export.h"

namespace kvwb {
namespace {

nlohmann::json with_budget(int64_t budget) {
  RunConfig c;
  c.workload = "w.jsonl";
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = budget;
  return run_config_to_json(c);
}

bool has_warning(const ServingFlags& f, const std::string& key) {
  return std::any_of(f.warnings.begin(), f.warnings.end(), [&](const std::string& w) { return w.rfind(key, 0) == 0; });
}

TEST(ConfigExport, TheConfigAtAStepHasTheChangesUpToIt) {
  const nlohmann::json initial = with_budget(512);
  const std::vector<ConfigChange> changes = {{10, with_budget(256)}, {30, with_budget(128)}};
  auto budget = [&](std::optional<int64_t> step) {
    return tuned_config(initial, changes, step, "s").policy.budget_tokens.value();
  };
  EXPECT_EQ(budget(0), 512);
  EXPECT_EQ(budget(9), 512);
  EXPECT_EQ(budget(10), 256);  // a change at step 10 applies before step 10 runs
  EXPECT_EQ(budget(29), 256);
  EXPECT_EQ(budget(30), 128);
  EXPECT_EQ(budget(std::nullopt), 128);
  EXPECT_EQ(budget(1000), 128);
  EXPECT_THROW(budget(-1), Error);
}

TEST(ConfigExport, TheExportIsVersionedAndDropsTheRecordingTarget) {
  nlohmann::json initial = with_budget(64);
  initial["record"] = "/tmp/sessions.db";
  const RunConfig c = tuned_config(initial, {}, std::nullopt, "s");
  EXPECT_TRUE(c.record.empty());
  const nlohmann::json out = run_config_to_json(c);
  EXPECT_EQ(out["schema_version"], kRunConfigSchemaVersion);
  EXPECT_EQ(run_config_from_json(out, "round trip").policy.budget_tokens, 64);
}

TEST(ConfigExport, AStoredConfigWithUnknownKeysOrBadValuesNamesTheKey) {
  nlohmann::json bad = with_budget(64);
  bad["policy"]["windw"] = 3;
  try {
    tuned_config(bad, {}, std::nullopt, "db.sqlite: session 4 config");
    ADD_FAILURE() << "accepted an unknown key";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "db.sqlite: session 4 config: policy: unknown key 'windw'");
  }
  const std::vector<ConfigChange> changes = {{5, [] {
                                                nlohmann::json j = with_budget(64);
                                                j["block_size"] = 0;
                                                return j;
                                              }()}};
  EXPECT_NO_THROW(tuned_config(with_budget(64), changes, 4, "s"));  // before the bad change
  try {
    tuned_config(with_budget(64), changes, 5, "s");
    ADD_FAILURE() << "accepted block_size 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block_size"), std::string::npos) << e.what();
  }
}

TEST(ConfigExport, KvCompressFlagsFollowTheDocumentedMapping) {
  RunConfig c;
  c.model = "/models/llama-3.1-8b";
  c.backend = "cuda";
  c.weights_dtype = "f32";
  c.kv_dtype = "f32";
  c.kv_pool_bytes = int64_t{1} << 30;
  c.block_size = 16;
  c.max_batch = 48;
  c.max_tokens_per_step = 8192;
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = 256;
  c.policy.protected_recent = 32;
  c.policy.window = 8;
  c.policy.decode_interval = 4;
  c.policy.metric = "l1-avg";
  c.policy.pool_kernel = 1;
  c.policy.sinks = 0;
  c.policy.chunked_prefill = false;
  c.sampling.seed = 7;
  c.workload = "data/ruler.jsonl";
  const ServingFlags f = vllm_kvcompress_flags(c);
  EXPECT_EQ(f.line(),
            "--model /models/llama-3.1-8b --dtype float32 --kv-cache-dtype auto --block-size 16 --max-num-seqs 48 "
            "--max-num-batched-tokens 8192 --enable-kvcompress --enforce-eager --max-cache-tokens 256 "
            "--protected-window-size 32 --prefill-metric-collection-window-size 8 --compression-interval 4 "
            "--metric-aggregation L1-avg --no-maxpool-metrics --seed 7");
  // Knobs with no counterpart are warnings, each naming its key.
  for (const char* key : {"kv_pool_bytes=", "prefill_chunk=", "sampling.temperature=", "threads=", "workload=",
                          "trace_sequences", "policy.min_head_fraction=", "policy.pyramid_beta="}) {
    EXPECT_TRUE(has_warning(f, key)) << key;
  }
  EXPECT_FALSE(has_warning(f, "policy.sinks"));       // 0 sinks: nothing lost
  EXPECT_FALSE(has_warning(f, "policy.pool_kernel"));  // 1 = --no-maxpool-metrics
  EXPECT_FALSE(has_warning(f, "backend"));
}

TEST(ConfigExport, KnobsWithoutAnExactCounterpartAreWarnedNotDropped) {
  RunConfig c;
  c.model = "demo";
  c.backend = "cpu";
  c.block_size = 64;
  c.policy.name = "kv-compress";
  c.policy.budget_ratio = 0.25;
  c.policy.budget_scope = "head";
  c.policy.pool_kernel = 5;
  c.policy.sinks = 4;
  c.policy.chunked_prefill = true;
  const ServingFlags f = vllm_kvcompress_flags(c);
  EXPECT_NE(f.line().find("--target-compression-rate 0.25"), std::string::npos) << f.line();
  EXPECT_EQ(f.line().find("--block-size"), std::string::npos) << f.line();
  EXPECT_EQ(f.line().find("maxpool"), std::string::npos) << f.line();  // width 5: maxpool stays on (width 7)
  for (const char* key : {"model=demo", "backend=cpu", "block_size=64", "policy.budget_scope=head",
                          "policy.pool_kernel=5", "policy.sinks=4", "policy.chunked_prefill=true"}) {
    EXPECT_TRUE(has_warning(f, key)) << key;
  }
}

TEST(ConfigExport, PoolingWidthsMapToTheForksFixedMaxPool) {
  RunConfig c;
  c.policy.name = "kv-compress";
  for (int64_t width : {0, 1}) {  // 0: the policy's default, no pooling for kvwb's KV-Compress
    c.policy.pool_kernel = width;
    EXPECT_NE(vllm_kvcompress_flags(c).line().find("--no-maxpool-metrics"), std::string::npos) << width;
  }
  c.policy.pool_kernel = 7;  // the fork's own width: its default, no flag and no warning
  const ServingFlags f = vllm_kvcompress_flags(c);
  EXPECT_EQ(f.line().find("maxpool"), std::string::npos);
  EXPECT_FALSE(has_warning(f, "policy.pool_kernel"));
}

TEST(ConfigExport, OtherPoliciesGiveAnUncompressedServerAndSayWhy) {
  RunConfig c;
  c.policy.name = "snapkv";
  c.policy.budget_tokens = 100;
  const ServingFlags f = vllm_kvcompress_flags(c);
  EXPECT_EQ(f.line().find("--enable-kvcompress"), std::string::npos);
  EXPECT_EQ(f.line().find("--max-cache-tokens"), std::string::npos);
  EXPECT_TRUE(has_warning(f, "policy.name=snapkv"));
  EXPECT_TRUE(has_warning(f, "policy budget (100 tokens per sequence)"));
}

TEST(ConfigExport, FlagValuesAreShellQuotedWhenNeeded) {
  RunConfig c;
  c.model = "/models/my model's dir";
  const ServingFlags f = vllm_kvcompress_flags(c);
  EXPECT_EQ(f.line().rfind("--model '/models/my model'\\''s dir' ", 0), 0u) << f.line();
}

}  // namespace
}  // namespace kvwb
