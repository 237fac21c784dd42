// kvwb-cli end to end as a user runs it: a real process, its exit code, stdout and stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/config/run_config_schema.h"
#include "engine/core/json_file.h"
#include "tests/cli/cli_process.h"

namespace {

namespace fs = std::filesystem;

using kvwb::cli_test::cli;
using kvwb::cli_test::read_all;
using kvwb::cli_test::Result;
using kvwb::cli_test::temp_path;

std::string fixture(const std::string& name) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/" + name; }

std::string write_workload(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, GenerateStreamsTextAndReportsSpeeds) {
  const Result r = cli("generate --model " + fixture("llama-tied") + " --prompt 'hello world' --max-new-tokens 8");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("hello world", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("decode: 8 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
}

TEST(Cli, GreedyGenerationIsDeterministicAndSeedsChangeSampling) {
  const std::string base = "generate --model " + fixture("llama-tied") + " --prompt 'the cat' --max-new-tokens 12";
  EXPECT_EQ(cli(base).out, cli(base).out);
  const Result a = cli(base + " --temperature 1.5 --seed 1");
  const Result b = cli(base + " --temperature 1.5 --seed 1");
  EXPECT_EQ(a.out, b.out);
  bool any_differs = false;
  for (int seed = 2; seed < 6 && !any_differs; ++seed) {
    any_differs = cli(base + " --temperature 1.5 --seed " + std::to_string(seed)).out != a.out;
  }
  EXPECT_TRUE(any_differs) << "different seeds should sample differently";
}

TEST(Cli, BadInputGivesOneLineErrorsNamingTheProblem) {
  const std::string missing = temp_path("no_such_model");
  Result r = cli("generate --model " + missing + " --prompt x");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: " + missing + ": no such model file or directory (shorthands: demo, smollm2)\n");

  // A model whose weights file is cut short.
  const fs::path broken = temp_path("broken_model");
  fs::remove_all(broken);
  fs::copy(fixture("llama-tied"), broken);
  fs::resize_file(broken / "model.safetensors", 1000);
  r = cli("generate --model " + broken.string() + " --prompt x");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find((broken / "model.safetensors").string()), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = cli("generate --model " + fixture("llama-tied") + " --prompt x --max-new-tokens 0");
  EXPECT_NE(r.code, 0);
  r = cli("frobnicate");
  EXPECT_NE(r.code, 0);
}

TEST(Cli, SmolLM2ShorthandWithoutTheDownloadSaysHowToFetchIt) {
  const fs::path empty = temp_path("empty_model_cache");
  fs::create_directories(empty);
  ::setenv("KVWB_MODEL_CACHE", empty.c_str(), 1);  // inherited by the kvwb-cli child
  const Result r = cli("generate --model smollm2 --prompt x");
  ::unsetenv("KVWB_MODEL_CACHE");
  fs::remove_all(empty);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: " + (empty / "SmolLM2-135M-Instruct.Q4_1.gguf").string() +
                       ": SmolLM2 is not downloaded yet; run scripts/fetch-models.sh\n");
}

TEST(Cli, RunPrintsSummaryAndWritesJson) {
  const std::string workload = write_workload("cli_run.jsonl",
      "{\"id\": \"a\", \"prompt\": \"one two three\", \"max_new_tokens\": 6, \"task\": \"t1\", \"answers\": [\"zzzz\"], \"metric\": \"contains_any\"}\n"
      "{\"id\": \"b\", \"prompt\": \"four five\", \"max_new_tokens\": 4}\n"
      "{\"id\": \"c\", \"prompt\": \"six seven eight nine\", \"max_new_tokens\": 5}\n");
  const std::string json = temp_path("summary.json");
  const Result r = cli("run --model " + fixture("llama-tied") + " --workload " + workload +
                       " --kv-pool 4MiB --block-size 8 --json " + json + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("requests          3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("throughput"), std::string::npos) << r.out;
  const auto j = kvwb::read_json_file(json);
  EXPECT_EQ(j.at("requests").get<int>(), 3);
  EXPECT_GT(j.at("generated_tokens").get<int>(), 0);
  EXPECT_LE(j.at("generated_tokens").get<int>(), 15);
  EXPECT_LE(j.at("peak_blocks_used").get<int>(), j.at("blocks_total").get<int>());
  EXPECT_EQ(j.at("config").at("block_size").get<int>(), 8);
  EXPECT_EQ(j.at("tasks").at("t1").at("count").get<int>(), 1);
}

TEST(Cli, RandomWeightsRunAModelOfTheConfigShapeWithoutItsCheckpoint) {
  const std::string config = fixture("llama-tied") + "/config.json";
  const Result g = cli("generate --random-weights " + config + " --weights-dtype f32 --prompt abc --max-new-tokens 5");
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(g.err.find("decode: 5 tokens"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find(config), std::string::npos) << g.err;

  // No end token: every request generates all its tokens, which is what benchmarks want.
  const std::string workload = write_workload("cli_random.jsonl",
      "{\"id\": \"a\", \"prompt\": \"" + std::string(60, 'r') + "\", \"max_new_tokens\": 7}\n"
      "{\"id\": \"b\", \"prompt\": \"short\", \"max_new_tokens\": 9}\n");
  const std::string json = temp_path("random.json");
  const Result r = cli("run --random-weights " + config + " --workload " + workload +
                       " --kv-pool 4MiB --policy batch-max --budget-tokens 16 --json " + json + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = kvwb::read_json_file(json);
  EXPECT_EQ(j.at("generated_tokens").get<int>(), 16);
  EXPECT_EQ(j.at("config").at("random_weights"), config);
  EXPECT_GT(j.at("evicted_slots").get<int>(), 0);

  const Result bad = cli("run --random-weights " + config + " --weights-dtype q8 --workload " + workload + " --quiet");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("weights_dtype"), std::string::npos) << bad.err;
}

TEST(Cli, EveryPolicyKnobHasAFlag) {
  const std::string workload = write_workload("cli_knobs.jsonl",
      "{\"id\": \"a\", \"prompt\": \"" + std::string(80, 'k') + "\", \"max_new_tokens\": 4}\n"
      "{\"id\": \"b\", \"prompt\": \"four five\", \"max_new_tokens\": 4}\n");
  const std::string json = temp_path("knobs.json");
  const Result r = cli("run --model " + fixture("llama-tied") + " --workload " + workload +
                       " --kv-pool 4MiB --block-size 4 --prefill-chunk 16 --policy kv-compress --budget-tokens 24" +
                       " --chunked-prefill true --pool-kernel 3 --metric l1-avg --min-head-fraction 0.3" +
                       " --pyramid-beta 8 --trace-sequences b,a --json " + json + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = kvwb::read_json_file(json).at("config");
  const auto& p = c.at("policy");
  EXPECT_EQ(p.at("name"), "kv-compress");
  EXPECT_EQ(p.at("chunked_prefill"), true);
  EXPECT_EQ(p.at("pool_kernel"), 3);
  EXPECT_EQ(p.at("metric"), "l1-avg");
  EXPECT_DOUBLE_EQ(p.at("min_head_fraction").get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(p.at("pyramid_beta").get<double>(), 8.0);
  EXPECT_EQ(c.at("trace_sequences"), (std::vector<std::string>{"b", "a"}));
  EXPECT_GT(kvwb::read_json_file(json).at("evicted_slots").get<int>(), 0);

  const Result bad = cli("run --model " + fixture("llama-tied") + " --workload " + workload +
                         " --policy kv-compress --budget-tokens 24 --pool-kernel 4 --quiet");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("pool_kernel"), std::string::npos) << bad.err;
}

TEST(Cli, RunHelpListsEverySchemaFlagAndBadFlagTextIsNamed) {
  const Result help = cli("run --help");
  ASSERT_EQ(help.code, 0) << help.err;
  for (const kvwb::ConfigField& f : kvwb::config_fields()) {
    if (f.flag.empty()) continue;
    EXPECT_NE(help.out.find("--" + std::string(f.flag)), std::string::npos) << f.flag;
  }
  const Result bad = cli("run --model " + fixture("llama-tied") + " --block-size sixteen --quiet");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "kvwb-cli: error: --block-size: 'sixteen' is not a whole number\n");
}

TEST(Cli, RunRejectsAPoolTooSmallForOneRequest) {
  const std::string workload = write_workload("cli_small.jsonl", "{\"id\": \"long\", \"prompt\": \"" + std::string(200, 'x') + "\"}\n");
  const Result r = cli("run --model " + fixture("llama-tied") + " --workload " + workload + " --kv-pool 16KiB --quiet");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("long: needs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("raise kv_pool_bytes"), std::string::npos) << r.err;
}

// A pool no machine can map: of 1 PiB the keys alone take over 400 TiB, beyond the 128 TiB of
// address space an x86-64 process has, so mmap refuses it whatever the overcommit setting and
// before any page is touched (a pool that merely exceeds RAM may be mapped lazily: not tested).
TEST(Cli, RunWithAPoolNoMachineCanMapNamesTheBufferInOneLine) {
  const std::string workload = write_workload("cli_huge_pool.jsonl", "{\"id\": \"a\", \"prompt\": \"one two\"}\n");
  const Result r = cli("run --model " + fixture("llama-tied") + " --workload " + workload + " --kv-pool 1048576GiB --quiet");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("kvwb-cli: error: KV pool (keys): cannot allocate ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(" bytes on the cpu backend (mmap: "), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, RunNamesTheBadWorkloadLineAndConfigKey) {
  const std::string workload = write_workload("cli_bad.jsonl", "{\"id\": \"a\", \"prompt\": \"x\"}\n{\"id\": \"b\"\n");
  Result r = cli("run --model " + fixture("llama-tied") + " --workload " + workload + " --quiet");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(workload + ":2: malformed JSON"), std::string::npos) << r.err;

  const std::string config = temp_path("bad_config.json");
  std::ofstream(config) << "{\"policy\": {\"name\": \"full\", \"windw\": 3}}";
  r = cli("run --config " + config + " --quiet");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(config + ": policy: unknown key 'windw'"), std::string::npos) << r.err;
}

TEST(Cli, EvalPrintsThePerTaskTable) {
  const std::string workload = write_workload("cli_eval.jsonl",
      "{\"id\": \"a\", \"prompt\": \"one\", \"max_new_tokens\": 3, \"task\": \"alpha\", \"answers\": [\"q\"], \"metric\": \"f1\"}\n"
      "{\"id\": \"b\", \"prompt\": \"two\", \"max_new_tokens\": 3, \"task\": \"beta\", \"answers\": [\"q\"], \"metric\": \"em\"}\n");
  const Result r = cli("eval --model " + fixture("llama-tied") + " --workload " + workload + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("alpha"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("beta"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("overall"), std::string::npos) << r.out;
}

TEST(Cli, EvalTopLogprobsWritesEachTokensDistributionAndNeedsResults) {
  const std::string workload = write_workload("cli_top_logprobs.jsonl",
      "{\"id\": \"a\", \"prompt\": \"one two\", \"max_new_tokens\": 4}\n"
      "{\"id\": \"b\", \"prompt\": \"three\", \"max_new_tokens\": 3}\n");
  const std::string results = temp_path("top_logprobs_results.json");
  const std::string base = "eval --model " + fixture("llama-tied") + " --workload " + workload + " --quiet --top-logprobs 3";
  const Result r = cli(base + " --results " + results);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = kvwb::read_json_file(results);
  ASSERT_EQ(j.size(), 2u);
  for (const auto& request : j) {
    const auto& tokens = request.at("output_tokens");
    const auto& steps = request.at("top_logprobs");
    ASSERT_EQ(steps.size(), tokens.size()) << request.dump();
    for (size_t t = 0; t < steps.size(); ++t) {
      ASSERT_EQ(steps[t].size(), 3u);
      EXPECT_EQ(steps[t][0][0], tokens[t]) << "greedy takes the most likely token";
      EXPECT_LE(steps[t][0][1].get<double>(), 0.0);
      EXPECT_GE(steps[t][0][1].get<double>(), steps[t][1][1].get<double>());
      EXPECT_GE(steps[t][1][1].get<double>(), steps[t][2][1].get<double>());
    }
  }
  const Result bad = cli(base);
  EXPECT_NE(bad.code, 0);
  EXPECT_EQ(bad.err, "kvwb-cli: error: --top-logprobs: needs --results (the log-probabilities are written there)\n");
}

TEST(Cli, ScoreRatesAnotherEnginesOutputsWithTheRequestsMetrics) {
  // contains_all by hand: "b" finds one of its two answers (0.5), "a" finds its one (1).
  const std::string workload = write_workload("cli_score.jsonl",
      "{\"id\": \"a\", \"prompt\": \"p\", \"question\": \" q?\", \"answers\": [\"6561234\"], \"metric\": \"contains_all\"}\n"
      "{\"id\": \"b\", \"prompt\": \"p\", \"answers\": [\"x\", \"z\"], \"metric\": \"contains_all\"}\n");
  const std::string outputs = write_workload("cli_score_outputs.json",
      R"([{"id": "b", "output": "x only"}, {"id": "a", "output": "It is 6561234.", "margins": [1]}])");
  const std::string results = temp_path("cli_score_results.json");
  const Result r = cli("score --workload " + workload + " --outputs " + outputs + " --results " + results);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "2 outputs, 2 scored, mean score 0.7500\n");
  const nlohmann::json j = kvwb::read_json_file(results);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], "b");
  EXPECT_EQ(j[0]["score"], 0.5);
  EXPECT_EQ(j[1]["score"], 1.0);

  const std::string stranger = write_workload("cli_score_stranger.json", R"([{"id": "zz", "output": "x"}])");
  const Result bad = cli("score --workload " + workload + " --outputs " + stranger);
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "kvwb-cli: error: " + stranger + ": item 0: id 'zz' is not a request of " + workload + "\n");
}

}  // namespace
