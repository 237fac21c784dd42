// kvwb-cli run/eval --trace and --profile, and --backend cuda without a GPU, as a user runs them:
// a real process, its exit code, stdout, stderr and the files it writes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/core/json_file.h"
#include "tests/cli/cli_process.h"
#include "kernels/backend_factory.h"

namespace {

namespace fs = std::filesystem;

using kvwb::cli_test::cli;
using kvwb::cli_test::Result;

// Every file a test writes is its own (ctest runs tests in parallel).
std::string scratch(const std::string& name) { return kvwb::cli_test::temp_path(name); }

std::string fixture() { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied"; }

std::string workload() {
  const std::string path = scratch("w.jsonl");
  std::ofstream(path) << "{\"id\": \"a\", \"prompt\": \"one two three four five\", \"max_new_tokens\": 6, \"task\": \"t\", "
                         "\"answers\": [\"zzzz\"], \"metric\": \"contains_any\"}\n"
                         "{\"id\": \"b\", \"prompt\": \"six seven\", \"max_new_tokens\": 4}\n";
  return path;
}

int64_t count_step_spans(const nlohmann::json& trace) {
  int64_t n = 0;
  for (const auto& e : trace.at("traceEvents")) n += e.at("ph") == "X" && e.at("cat") == "step";
  return n;
}

TEST(TraceCli, RunWritesAChromeTraceWithOneStepSpanPerStepAndPrintsTheOpTable) {
  const std::string trace = scratch("trace.json"), json = scratch("summary.json");
  fs::remove(trace);
  const Result r = cli("run --model " + fixture() + " --workload " + workload() + " --kv-pool 4MiB --block-size 8 --quiet" +
                       " --json " + json + " --trace " + trace + " --profile");
  ASSERT_EQ(r.code, 0) << r.err;
  const int64_t steps = kvwb::read_json_file(json).at("steps").get<int64_t>();
  ASSERT_GT(steps, 0);
  const nlohmann::json t = kvwb::read_json_file(trace);
  EXPECT_EQ(count_step_spans(t), steps);
  bool has_counter = false;
  for (const auto& e : t.at("traceEvents")) has_counter |= e.at("ph") == "C" && e.at("name") == "kv_blocks_used";
  EXPECT_TRUE(has_counter);

  // --profile: the op table after the run summary, one row per op, and the step count.
  const size_t summary_at = r.out.find("throughput");
  const size_t table_at = r.out.find("category");
  ASSERT_NE(summary_at, std::string::npos) << r.out;
  ASSERT_NE(table_at, std::string::npos) << r.out;
  EXPECT_LT(summary_at, table_at);
  EXPECT_NE(r.out.find("\nmatmul "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("paged_attention"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("steps: " + std::to_string(steps) + ", step time"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(TraceCli, EvalTakesTraceToo) {
  const std::string trace = scratch("eval_trace.json");
  const Result r = cli("eval --model " + fixture() + " --workload " + workload() + " --kv-pool 4MiB --quiet --trace " + trace);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(count_step_spans(kvwb::read_json_file(trace)), 0);
  EXPECT_EQ(r.out.find("category"), std::string::npos) << "no op table without --profile";
}

TEST(TraceCli, AnUnwritableTracePathFailsBeforeTheRunStarts) {
  const std::string bad = scratch("no_such_dir") + "/trace.json";
  // The model does not exist either: were the trace checked after loading it (or after the
  // run), the error would be about the model.
  const std::string missing_model = scratch("no_such_model");
  Result r = cli("run --model " + missing_model + " --workload " + workload() + " --quiet --trace " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: " + bad + ": cannot be written: No such file or directory\n");
  EXPECT_EQ(r.out, "");

  // A directory is not a trace file either; the valid run does not start.
  r = cli("run --model " + fixture() + " --workload " + workload() + " --quiet --trace " + ::testing::TempDir());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(::testing::TempDir() + ": cannot be written"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(TraceCli, AnExistingTraceFileIsOverwrittenAndAProbeLeavesNoFile) {
  const std::string trace = scratch("existing.json");
  std::ofstream(trace) << "old";
  const Result r = cli("run --model " + fixture() + " --workload " + workload() + " --kv-pool 4MiB --quiet --trace " + trace);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(count_step_spans(kvwb::read_json_file(trace)), 0);

  // A failing run after the check must not leave an empty trace behind.
  const std::string fresh = scratch("fresh.json");
  fs::remove(fresh);
  const Result bad = cli("run --model " + scratch("no_such_model") + " --workload " + workload() + " --quiet --trace " + fresh);
  EXPECT_EQ(bad.code, 1);
  EXPECT_FALSE(fs::exists(fresh));
}

// Without a usable GPU, asking for CUDA is a one-line error (never a crash or an internal error).
TEST(TraceCli, CudaWithoutAGpuIsAOneLineError) {
  std::string why;
  if (kvwb::kernels::cuda_available(&why)) GTEST_SKIP() << "a CUDA device is present";
#if KVWB_HAVE_CUDA
  const std::string expected = "kvwb-cli: error: backend: no CUDA device: " + why + "\n";
#else
  const std::string expected = "kvwb-cli: error: backend: kvwb was built without CUDA\n";
#endif
  Result r = cli("generate --model " + fixture() + " --prompt hello --backend cuda");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, expected);
  r = cli("run --model " + fixture() + " --workload " + workload() + " --quiet --backend cuda");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, expected);

  r = cli("generate --model " + fixture() + " --prompt hello --backend tpu");
  EXPECT_NE(r.code, 0);  // rejected by the option check
}

// --matmul fast is CPU only: with CUDA it is refused before any device is looked for.
TEST(TraceCli, FastMatmulOnCudaIsAOneLineError) {
  const Result r = cli("run --model " + fixture() + " --workload " + workload() + " --quiet --backend cuda --matmul fast");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: backend: matmul fast is CPU only: the CUDA backend multiplies exactly "
                   "(use --matmul exact)\n");
}

TEST(TraceCli, GenerateOnTheCpuBackendByName) {
  const Result r = cli("generate --model " + fixture() + " --prompt 'hello world' --max-new-tokens 4 --backend cpu");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("decode: 4 tokens"), std::string::npos) << r.err;
}

}  // namespace
