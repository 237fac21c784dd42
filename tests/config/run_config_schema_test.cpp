// The RunConfig schema table: every field reads what it writes, parses its flag text, checks
// its range, and the live rule splits a change as the run layer needs it.
#include "engine/config/run_config_schema.h"

#include <gtest/gtest.h>

#include <set>

#include "engine/config/policy_names.h"
#include "engine/core/error.h"

namespace kvwb {
namespace {

// A config where every field differs from its default (and stays valid).
RunConfig all_changed() {
  RunConfig c;
  c.model = "smollm2";
  c.random_weights = "bench/configs/llama-3-8b.json";
  c.backend = "cuda";
  c.weights_dtype = "bf16";
  c.kv_dtype = "q8_0";
  c.kv_rotation = "none";
  c.kv_pool_bytes = 3 << 20;
  c.kv_pool_auto_fraction = 0.25;
  c.block_size = 32;
  c.prefill_chunk = 64;
  c.max_batch = 8;
  c.max_tokens_per_step = 256;
  c.threads = 2;
  c.weights_cache_bytes = 64 << 20;
  c.matmul = "fast";
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = 99;
  c.policy.budget_scope = "head";
  c.policy.window = 7;
  c.policy.sinks = 3;
  c.policy.protected_recent = 5;
  c.policy.decode_interval = 2;
  c.policy.metric = "l1-avg";
  c.policy.pool_kernel = 3;
  c.policy.min_head_fraction = 0.5;
  c.policy.pyramid_beta = 4;
  c.policy.chunked_prefill = true;
  c.policy.span = "word";
  c.policy.chunk_guidance = "question";
  c.sampling.temperature = 0.7;
  c.sampling.top_p = 0.9;
  c.sampling.seed = 11;
  c.workload = "w.jsonl";
  c.max_requests = 4;
  c.trace_sequences = {"a", "b"};
  c.record = "runs.db";
  return c;
}

TEST(RunConfigSchema, KeysAndFlagsAreUnique) {
  std::set<std::string_view> keys, flags;
  for (const ConfigField& f : config_fields()) {
    EXPECT_TRUE(keys.insert(f.key).second) << f.key;
    if (!f.flag.empty()) EXPECT_TRUE(flags.insert(f.flag).second) << f.flag;
    EXPECT_FALSE(f.help.empty()) << f.key;
  }
  EXPECT_THROW(config_field("no_such_key"), Error);
}

// Each field alone, changed in a default config: the JSON carries exactly that change back.
TEST(RunConfigSchema, EveryFieldRoundTripsThroughJsonOnItsOwn) {
  const RunConfig changed = all_changed();
  const RunConfig defaults;
  RunConfig ratio;  // all_changed() gives the budget in tokens
  ratio.policy.budget_ratio = 0.25;
  size_t tested = 0;
  for (const ConfigField& f : config_fields()) {
    RunConfig c;
    f.copy(f.key == "policy.budget_ratio" ? ratio : changed, c);
    const auto differs = changed_fields(defaults, c);
    ++tested;
    ASSERT_EQ(differs.size(), 1u) << f.key;
    EXPECT_EQ(differs.front(), &f);
    const RunConfig back = run_config_from_json(run_config_to_json(c), "x");
    EXPECT_TRUE(changed_fields(c, back).empty()) << f.key << ": " << run_config_to_json(back).dump();
  }
  EXPECT_EQ(tested, config_fields().size());
}

// The flag text of a field's value (its JSON, unquoted) sets the same value.
TEST(RunConfigSchema, EveryFlagParsesTheValueItNames) {
  const RunConfig changed = all_changed();
  for (const ConfigField& f : config_fields()) {
    if (f.flag.empty()) continue;
    const Json v = f.write(changed);
    if (v.is_discarded()) continue;  // unset in all_changed() (budget_ratio)
    std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    if (v.is_array()) text = "a,b";
    RunConfig c;
    set_config_field(c, f, text, "--" + std::string(f.flag));
    EXPECT_EQ(f.write(c), v) << f.key << " from '" << text << "'";
  }
}

TEST(RunConfigSchema, FlagsRefuseTextOfTheWrongKindNamingTheFlag) {
  RunConfig c;
  const auto error = [&](std::string_view key, const std::string& text) -> std::string {
    try {
      set_config_field(c, config_field(key), text, "--flag");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error("block_size", "big"), "--flag: 'big' is not a whole number");
  EXPECT_EQ(error("block_size", "16.5"), "--flag: '16.5' is not a whole number");
  EXPECT_EQ(error("sampling.seed", "-1"), "--flag: '-1' is not a whole number");
  EXPECT_EQ(error("threads", "99999999999"), "--flag: '99999999999' is not a whole number");
  EXPECT_EQ(error("sampling.top_p", "nan"), "--flag: 'nan' is not a number");
  EXPECT_EQ(error("policy.chunked_prefill", "maybe"), "--flag: 'maybe' is not true or false");
  EXPECT_NE(error("kv_pool_bytes", "64 parsecs").find("unknown size unit"), std::string::npos);
}

TEST(RunConfigSchema, ABudgetGivenByFlagReplacesTheOtherKind) {
  RunConfig c;
  c.policy.budget_ratio = 0.5;
  set_config_field(c, config_field("policy.budget_tokens"), "64", "--budget-tokens");
  EXPECT_EQ(c.policy.budget_tokens, 64);
  EXPECT_FALSE(c.policy.budget_ratio.has_value());
  set_config_field(c, config_field("policy.budget_ratio"), "0.25", "--budget-ratio");
  EXPECT_FALSE(c.policy.budget_tokens.has_value());
  EXPECT_EQ(c.policy.budget_ratio, 0.25);
}

TEST(RunConfigSchema, RangeMessagesComeFromTheBounds) {
  RunConfig c;
  const auto problem = [&](std::string_view key) { return config_field_problem(c, config_field(key)); };
  EXPECT_EQ(problem("block_size"), "");
  c.block_size = 0;
  EXPECT_EQ(problem("block_size"), "must be in [1, 1024]");
  c.kv_pool_auto_fraction = 0;
  EXPECT_EQ(problem("kv_pool_auto_fraction"), "must be in (0, 0.95]");
  c.policy.sinks = -1;
  EXPECT_EQ(problem("policy.sinks"), "must not be negative");
  c.kv_pool_bytes = 0;
  EXPECT_EQ(problem("kv_pool_bytes"), "must be positive");
  c.policy.window = 0;
  EXPECT_EQ(problem("policy.window"), "must be at least 1");
  c.backend = "tpu";
  EXPECT_EQ(problem("backend"), "must be cpu or cuda, got 'tpu'");
  c.policy.name = "lru";
  EXPECT_EQ(problem("policy.name"), "unknown policy 'lru' (" + policy_name_list() + ")");
  c.sampling.top_p = std::nan("");
  EXPECT_EQ(problem("sampling.top_p"), "must be in (0, 1]");
}

// The weights cache takes a size or 0 (off), as a flag and in JSON; a negative count is refused.
TEST(RunConfigSchema, TheWeightsCacheTakesASizeOrZero) {
  RunConfig c;
  const ConfigField& f = config_field("weights_cache_bytes");
  set_config_field(c, f, "256MiB", "--weights-cache");
  EXPECT_EQ(c.weights_cache_bytes, int64_t{256} << 20);
  set_config_field(c, f, "0", "--weights-cache");
  EXPECT_EQ(c.weights_cache_bytes, 0);
  EXPECT_EQ(run_config_from_json(Json{{"weights_cache_bytes", "1GiB"}}, "x").weights_cache_bytes, int64_t{1} << 30);
  c.weights_cache_bytes = -1;
  EXPECT_EQ(config_field_problem(c, f), "must not be negative");
}

TEST(RunConfigSchema, ALiveChangeAppliesTheTunablesAndDefersWhatDefinesTheRun) {
  RunConfig running;
  running.policy.name = "snapkv";
  running.policy.budget_tokens = 128;
  RunConfig requested = running;
  requested.policy.budget_tokens = 64;
  requested.max_batch = 3;
  requested.block_size = 64;
  requested.model = "smollm2";
  const LiveChange change = apply_live_changes(running, requested);
  EXPECT_EQ(change.applied.policy.budget_tokens, 64);
  EXPECT_EQ(change.applied.max_batch, 3);
  EXPECT_EQ(change.applied.block_size, running.block_size);
  EXPECT_EQ(change.applied.model, running.model);
  ASSERT_EQ(change.deferred.size(), 2u);
  EXPECT_EQ(change.deferred[0]->key, "model");
  EXPECT_EQ(change.deferred[1]->key, "block_size");
}

// Schema version 3 rotates q8_0 / q4_0 rows by default; versions 1 and 2 stored them unrotated
// and still do, whatever the file says (it could not say otherwise then).
TEST(RunConfigSchema, KvRotationDefaultsToHadamardAndOlderConfigsKeepNone) {
  EXPECT_EQ(RunConfig{}.kv_rotation, "hadamard");
  EXPECT_EQ(run_config_from_json(Json::object(), "x").kv_rotation, "hadamard");
  for (int version : {1, 2}) {
    const RunConfig old = run_config_from_json(Json{{"schema_version", version}, {"kv_dtype", "q8_0"}}, "x");
    EXPECT_EQ(old.kv_rotation, "none") << version;
    EXPECT_EQ(run_config_to_json(old)["kv_rotation"], "none") << version;
  }
  EXPECT_EQ(run_config_from_json(Json{{"schema_version", 3}, {"kv_rotation", "none"}}, "x").kv_rotation, "none");
  try {
    run_config_from_json(Json{{"kv_rotation", "random"}}, "run.json");
    FAIL() << "accepted random";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "run.json: kv_rotation: must be none or hadamard, got 'random'");
  }
}

// Schema version 2 made f16 the KV dtype of new configs; a version-1 config ran f32 and still does.
TEST(RunConfigSchema, KvDtypeDefaultsToF16AndVersionOneConfigsKeepF32) {
  EXPECT_EQ(RunConfig{}.kv_dtype, "f16");
  EXPECT_EQ(run_config_from_json(Json::object(), "x").kv_dtype, "f16");
  const RunConfig v1 = run_config_from_json(Json{{"schema_version", 1}, {"block_size", 8}}, "x");
  EXPECT_EQ(v1.kv_dtype, "f32");
  EXPECT_EQ(v1.schema_version, kRunConfigSchemaVersion);  // read into the current schema
  EXPECT_EQ(run_config_to_json(v1)["kv_dtype"], "f32");
  EXPECT_EQ(run_config_from_json(Json{{"schema_version", 1}, {"kv_dtype", "f32"}}, "x").kv_dtype, "f32");
  EXPECT_EQ(run_config_from_json(Json{{"kv_dtype", "q4_0"}}, "x").kv_dtype, "q4_0");
  try {
    run_config_from_json(Json{{"kv_dtype", "fp8"}}, "run.json");
    FAIL() << "accepted fp8";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "run.json: kv_dtype: must be f32, f16, bf16, q8_0 or q4_0, got 'fp8'");
  }
  EXPECT_EQ(config_field("kv_dtype").applies, Applies::next_start);
}

// policy.chunk_guidance: none by default (today's chunked eviction), question by flag or JSON;
// anything else is refused naming the key or flag and the value.
TEST(RunConfigSchema, ChunkGuidanceIsNoneOrQuestion) {
  RunConfig c;
  EXPECT_EQ(c.policy.chunk_guidance, "none");
  const ConfigField& f = config_field("policy.chunk_guidance");
  set_config_field(c, f, "question", "--chunk-guidance");
  EXPECT_EQ(c.policy.chunk_guidance, "question");
  EXPECT_EQ(config_field_problem(c, f), "");
  c.policy.chunk_guidance = "answer";
  EXPECT_EQ(config_field_problem(c, f), "must be none or question, got 'answer'");
  try {
    run_config_from_json(Json{{"policy", {{"chunk_guidance", "yes"}}}}, "run.json");
    FAIL() << "accepted yes";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "run.json: policy.chunk_guidance: must be none or question, got 'yes'");
  }
  EXPECT_EQ(f.applies, Applies::live);
}

TEST(RunConfigSchema, PolicyChoicesAreTheRegistry) {
  const ConfigField& f = config_field("policy.name");
  ASSERT_NE(f.choices, nullptr);
  EXPECT_EQ(f.choices().size(), policy_registry().size());
  for (const PolicyInfo& p : policy_registry()) EXPECT_TRUE(is_policy_name(p.name)) << p.name;
  EXPECT_FALSE(is_policy_name("lru"));
}

}  // namespace
}  // namespace kvwb
