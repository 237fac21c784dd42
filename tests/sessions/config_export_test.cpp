// Tuned-config export: the config at a step is the initial one with the changes made up to
// it; bad stored configs are errors naming the key; each target's output (vLLM-kvcompress, vLLM,
// llama.cpp flags, a kvpress press) matches the documented mapping exactly, and every knob
// without a counterpart is warned about.
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

bool has_warning(const std::vector<std::string>& warnings, const std::string& key) {
  return std::any_of(warnings.begin(), warnings.end(), [&](const std::string& w) { return w.rfind(key, 0) == 0; });
}
bool has_warning(const ServingFlags& f, const std::string& key) { return has_warning(f.warnings, key); }
bool has_warning(const TargetExport& e, const std::string& key) { return has_warning(e.warnings, key); }

// The warning that starts with `key`, or "".
std::string warning(const TargetExport& e, const std::string& key) {
  for (const std::string& w : e.warnings) {
    if (w.rfind(key, 0) == 0) return w;
  }
  return "";
}

// A served config: weights and KV cache in f16 on CUDA, full KV.
RunConfig served() {
  RunConfig c;
  c.model = "/models/llama-3.1-8b";
  c.backend = "cuda";
  c.weights_dtype = "f16";
  c.kv_dtype = "f16";
  c.block_size = 16;
  c.max_batch = 48;
  c.max_tokens_per_step = 8192;
  c.prefill_chunk = 512;
  c.threads = 8;
  c.sampling.seed = 7;
  c.policy.name = "full";
  return c;
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

TEST(ConfigExport, VllmTargetGivesTheKvCacheDtypeWhereItMaps) {
  RunConfig c = served();
  TargetExport e = export_for_target(c, "vllm", "--target");
  EXPECT_EQ(e.text,
            "--model /models/llama-3.1-8b --dtype float16 --kv-cache-dtype auto --block-size 16 --max-num-seqs 48 "
            "--max-num-batched-tokens 8192 --seed 7");
  EXPECT_FALSE(has_warning(e, "kv_dtype"));
  EXPECT_TRUE(has_warning(e, "prefill_chunk=512"));
  c.kv_dtype = "f32";  // the cache in another dtype than the model's: vLLM cannot
  e = export_for_target(c, "vllm", "--target");
  EXPECT_EQ(e.text.find("--kv-cache-dtype"), std::string::npos) << e.text;
  EXPECT_NE(warning(e, "kv_dtype=f32").find("--dtype float32"), std::string::npos);
  for (const char* q : {"q8_0", "q4_0"}) {  // no vLLM twin; fp8 is named and said not to be one
    c.kv_dtype = q;
    e = export_for_target(c, "vllm", "--target");
    EXPECT_EQ(e.text.find("--kv-cache-dtype"), std::string::npos) << e.text;
    const std::string w = warning(e, std::string("kv_dtype=") + q);
    EXPECT_NE(w.find("fp8"), std::string::npos) << w;
    EXPECT_NE(w.find("no exact twin"), std::string::npos) << w;
  }
  c.policy.name = "snapkv";
  c.policy.budget_ratio = 0.5;
  e = export_for_target(c, "vllm", "--target");
  EXPECT_TRUE(has_warning(e, "policy.name=snapkv: no counterpart"));
  EXPECT_EQ(e.text.find("kvcompress"), std::string::npos) << e.text;
}

TEST(ConfigExport, VllmKvcompressTargetIsTheFlags) {
  RunConfig c = served();
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = 256;
  const TargetExport e = export_for_target(c, "vllm-kvcompress", "--target");
  const ServingFlags f = vllm_kvcompress_flags(c);
  EXPECT_EQ(e.text, f.line());
  EXPECT_EQ(e.warnings, f.warnings);
}

TEST(ConfigExport, LlamaCppTakesEveryKvDtypeOneToOne) {
  RunConfig c = served();
  c.model = "/models/smollm2-135m.gguf";
  TargetExport e = export_for_target(c, "llama.cpp", "--target");
  EXPECT_EQ(e.text,
            "-m /models/smollm2-135m.gguf -ngl 999 -ctk f16 -ctv f16 -np 48 -b 8192 -ub 512 -t 8 --seed 7 --temp 0 "
            "--top-p 1");
  EXPECT_FALSE(has_warning(e, "model="));
  EXPECT_TRUE(has_warning(e, "kv_pool_bytes"));
  EXPECT_TRUE(has_warning(e, "block_size=16"));
  for (const char* t : {"f32", "f16", "bf16", "q8_0", "q4_0"}) {  // llama.cpp's own names for these cache types
    c.kv_dtype = t;
    e = export_for_target(c, "llama.cpp", "--target");
    EXPECT_NE(e.text.find(std::string("-ctk ") + t + " -ctv " + t + " "), std::string::npos) << e.text;
  }
  EXPECT_TRUE(has_warning(e, "kv_dtype=q4_0: llama.cpp quantizes the V cache only with flash attention"));
  // llama.cpp rounds rows as they are: a rotated quantized cache says so; unrotated, or a plain
  // dtype (never rotated), says nothing of it.
  EXPECT_TRUE(has_warning(e, "kv_rotation=hadamard: no counterpart"));
  c.kv_rotation = "none";
  EXPECT_FALSE(has_warning(export_for_target(c, "llama.cpp", "--target"), "kv_rotation"));
  c.kv_rotation = "hadamard";
  c.kv_dtype = "f16";
  EXPECT_FALSE(has_warning(export_for_target(c, "llama.cpp", "--target"), "kv_rotation"));
  c.backend = "cpu";
  c.threads = 0;  // all cores: llama.cpp's default, no -t
  c.model = "smollm2";
  c.policy.name = "h2o";
  c.policy.budget_tokens = 64;
  e = export_for_target(c, "llama.cpp", "--target");
  EXPECT_NE(e.text.find("-ngl 0 "), std::string::npos) << e.text;
  EXPECT_EQ(e.text.find(" -t "), std::string::npos) << e.text;
  EXPECT_TRUE(has_warning(e, "model=smollm2"));
  EXPECT_TRUE(has_warning(e, "policy.name=h2o: no counterpart"));
}

TEST(ConfigExport, KvpressGetsTheNearestPressForEachPolicy) {
  RunConfig c = served();
  c.policy.window = 32;
  c.policy.sinks = 0;
  c.policy.budget_ratio = 0.5;  // kept 0.5: kvpress removes 0.5
  struct Case {
    std::string policy, text;
    bool warned;  // the policy has no press of its own
  };
  const std::vector<Case> cases = {
      {"snapkv", "from kvpress import SnapKVPress\npress = SnapKVPress(compression_ratio=0.5, window_size=32, "
                 "kernel_size=5)\n", false},
      {"pyramidkv", "from kvpress import PyramidKVPress\npress = PyramidKVPress(compression_ratio=0.5, "
                    "window_size=32, kernel_size=5, beta=20)\n", false},
      {"ada-kv", "from kvpress import AdaKVPress, SnapKVPress\npress = AdaKVPress(SnapKVPress(compression_ratio=0.5, "
                 "window_size=32, kernel_size=5), alpha_safeguard=0.2)\n", false},
      {"streaming-llm", "from kvpress import StreamingLLMPress\npress = StreamingLLMPress(compression_ratio=0.5, "
                        "n_sink=0)\n", false},
      {"h2o", "from kvpress import ObservedAttentionPress\npress = ObservedAttentionPress(compression_ratio=0.5)\n",
       false},
      {"kv-compress", "from kvpress import AdaKVPress, SnapKVPress\npress = AdaKVPress(SnapKVPress("
                      "compression_ratio=0.5, window_size=32, kernel_size=5))\n", true},
      {"batch-max", "from kvpress import ObservedAttentionPress\npress = ObservedAttentionPress("
                    "compression_ratio=0.5)\n", true},
      {"decode-only", "from kvpress import ObservedAttentionPress\npress = ObservedAttentionPress("
                      "compression_ratio=0.5)\n", true},
  };
  for (const Case& k : cases) {
    c.policy.name = k.policy;
    const TargetExport e = export_for_target(c, "kvpress", "--target");
    EXPECT_EQ(e.text, k.text) << k.policy;
    EXPECT_EQ(warning(e, "policy.name=" + k.policy).find("no kvpress press") != std::string::npos, k.warned)
        << k.policy;
  }
  c.policy.name = "streaming-llm";
  c.policy.budget_ratio = 0.3;  // removes 0.7, written as such
  c.policy.sinks = 4;
  EXPECT_NE(export_for_target(c, "kvpress", "--target").text.find("(compression_ratio=0.7, n_sink=4)"),
            std::string::npos);
  c.policy.name = "full";
  EXPECT_EQ(export_for_target(c, "kvpress", "--target").text.rfind("press = None", 0), 0u);
  // A budget in tokens becomes a ratio only per prompt: the line says how, and a warning why.
  c.policy.name = "snapkv";
  c.policy.budget_ratio.reset();
  c.policy.budget_tokens = 128;
  const TargetExport tokens = export_for_target(c, "kvpress", "--target");
  EXPECT_NE(tokens.text.find("compression_ratio=max(0.0, 1 - 128 / context_length)"), std::string::npos) << tokens.text;
  EXPECT_TRUE(has_warning(tokens, "policy.budget_tokens=128"));
  EXPECT_TRUE(has_warning(tokens, "kv_dtype=f16: kvpress keeps the KV cache in the model's dtype"));
  c.kv_dtype = "q8_0";
  EXPECT_TRUE(has_warning(export_for_target(c, "kvpress", "--target"), "kv_dtype=q8_0: no counterpart"));
}

TEST(ConfigExport, KvpressHasNoSpanPressAndSaysWhatComesNearest) {
  RunConfig c;
  c.policy.budget_ratio = 0.5;
  c.policy.span = "word";
  c.policy.name = "snapkv";
  const TargetExport snap = export_for_target(c, "kvpress", "--target");
  EXPECT_EQ(snap.text, "from kvpress import ChunkKVPress, SnapKVPress\npress = ChunkKVPress(press=SnapKVPress("
                       "compression_ratio=0.5, window_size=32, kernel_size=5), chunk_length=20)\n");
  EXPECT_NE(warning(snap, "policy.span=word").find("the nearest is ChunkKVPress"), std::string::npos);
  // Ada-KV is no ScorerPress: the press stays token-wise and the warning says so.
  c.policy.name = "ada-kv";
  const TargetExport ada = export_for_target(c, "kvpress", "--target");
  EXPECT_EQ(ada.text.find("ChunkKVPress"), std::string::npos) << ada.text;
  EXPECT_NE(warning(ada, "policy.span=word").find("cannot wrap AdaKVPress"), std::string::npos);
  c.policy.span = "none";
  EXPECT_FALSE(has_warning(export_for_target(c, "kvpress", "--target"), "policy.span"));
}

// policy.chunk_guidance: FinchPress is the nearest press where guidance applies (chunks that are
// evicted between); where it does not, the policy's own press stays. vLLM has no counterpart.
TEST(ConfigExport, KvpressMapsQuestionGuidedChunksToFinchPress) {
  RunConfig c;
  c.policy.budget_ratio = 0.25;
  c.policy.name = "batch-max";
  c.policy.chunk_guidance = "question";
  c.prefill_chunk = 128;
  const TargetExport guided = export_for_target(c, "kvpress", "--target");
  EXPECT_EQ(guided.text, "from kvpress import FinchPress\npress = FinchPress(compression_ratio=0.75, chunk_length=128)\n");
  EXPECT_NE(warning(guided, "policy.chunk_guidance=question").find("delimiter_token"), std::string::npos);
  c.policy.span = "word";  // FinchPress is no ScorerPress: no ChunkKVPress around it
  EXPECT_NE(warning(export_for_target(c, "kvpress", "--target"), "policy.span=word").find("cannot wrap FinchPress"),
            std::string::npos);
  c.policy.span = "none";
  c.policy.name = "kv-compress";  // guided only with chunked prefill
  EXPECT_EQ(export_for_target(c, "kvpress", "--target").text.find("FinchPress"), std::string::npos);
  c.policy.chunked_prefill = true;
  EXPECT_NE(export_for_target(c, "kvpress", "--target").text.find("FinchPress("), std::string::npos);
  c.policy.name = "snapkv";  // evicts once, after the prompt: guidance does not apply
  EXPECT_EQ(export_for_target(c, "kvpress", "--target").text.find("FinchPress"), std::string::npos);
  EXPECT_TRUE(has_warning(vllm_kvcompress_flags(c), "policy.chunk_guidance=question"));
}

TEST(ConfigExport, AnUnknownTargetIsNamed) {
  try {
    export_for_target(served(), "sglang", "--target");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--target: unknown target 'sglang' (one of vllm-kvcompress, vllm, llama.cpp, kvpress)");
  }
}

}  // namespace
}  // namespace kvwb
