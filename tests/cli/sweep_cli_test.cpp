// kvwb-cli sweep end to end on the llama-tied fixture: the table with the frontier and the
// recommendation, --export writing the recommended point's config (runnable with run --config),
// --json, a rerun that reads every point back, Ctrl-C stopping after the point running and the
// next invocation resuming, and bad input named.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/config/run_config.h"
#include "engine/core/json_file.h"
#include "tests/cli/cli_process.h"

namespace {

using kvwb::cli_test::cli;
using kvwb::cli_test::read_all;
using kvwb::cli_test::Result;
using kvwb::cli_test::temp_path;

// Removes every file this test wrote (temp_path names start with suite_test_pid_).
class SweepCli : public ::testing::Test {
 protected:
  void TearDown() override {
    const std::string prefix = std::filesystem::path(temp_path("")).filename().string();
    for (const auto& entry : std::filesystem::directory_iterator(::testing::TempDir())) {
      if (entry.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove(entry.path());
    }
  }
};

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A workload of `requests` word prompts on the fixture model (contexts <= 80 tokens).
std::string base_args(int requests = 6, const std::string& pool = "1MiB") {
  const std::string workload = temp_path("w.jsonl");
  std::ofstream w(workload);
  for (int i = 0; i < requests; ++i) {
    std::string prompt;
    for (int k = 0; k < 3 + i % 6; ++k) prompt += k % 2 ? "the cat sat on the mat " : "one two three four ";
    w << "{\"id\": \"r" << i << "\", \"prompt\": \"" << prompt << "\", \"max_new_tokens\": 10}\n";
  }
  return "sweep --model " + std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied --workload " + workload +
         " --kv-pool " + pool + " --block-size 8 --prefill-chunk 32 --threads 1 --sinks 2 --protected-recent 4 --window 4" +
         " --decode-interval 2 --db " + temp_path("s.db");
}

TEST_F(SweepCli, PrintsTheFrontierExportsTheRecommendationAndResumes) {
  const std::string best = temp_path("best.json"), json = temp_path("sweep.json");
  const std::string args = base_args() + " --policies batch-max,streaming-llm --budget-tokens 12,256 --min-accuracy 0.9";
  const Result r = cli(args + " --export " + best + " --json " + json);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sweep of 5 points at KV pool 1MiB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch-max"), std::string::npos);
  EXPECT_NE(r.out.find("* Pareto frontier"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recommended: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fidelity"), std::string::npos) << r.out;  // the random model scores nothing
  EXPECT_NE(r.out.find("wrote " + best), std::string::npos);
  EXPECT_EQ(count(r.err, "session #"), 5u) << r.err;

  // The JSON names the recommended point; --export wrote exactly its config.
  const nlohmann::json sweep = kvwb::read_json_file(json);
  ASSERT_EQ(sweep["points"].size(), 5u);
  EXPECT_TRUE(sweep["complete"].get<bool>());
  ASSERT_TRUE(sweep["recommended"].is_number());
  const nlohmann::json& chosen = sweep["points"][sweep["recommended"].get<size_t>()];
  EXPECT_TRUE(chosen["frontier"].get<bool>());
  EXPECT_GE(chosen["accuracy"].get<double>(), 0.9);
  const nlohmann::json exported = kvwb::read_json_file(best);
  EXPECT_EQ(exported, chosen["config"]);
  EXPECT_EQ(exported["schema_version"], kvwb::kRunConfigSchemaVersion);
  const Result rerun = cli("run --config " + best + " --quiet");
  EXPECT_EQ(rerun.code, 0) << rerun.err;

  // The same command again reads every point back: no new session.
  const Result again = cli(args);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(count(again.err, "recorded before, read back from the store"), 5u) << again.err;
  const Result list = cli("sessions list --json --db " + temp_path("s.db"));
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 5u);
}

TEST_F(SweepCli, ChunksMultiplyThePoints) {
  const Result r = cli(base_args(2) + " --policies batch-max --budget-tokens 12 --chunks 16,32 --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sweep of 3 points"), std::string::npos) << r.out;  // full + 2 chunks
}

TEST_F(SweepCli, KvDtypesAddTheDimensionAgainstAnF32Reference) {
  // The fixture's head_dim is 16: the float dtypes only (q8_0/q4_0 need a multiple of 32).
  const std::string json = temp_path("dtypes.json");
  const Result r =
      cli(base_args(2) + " --policies batch-max --budget-tokens 12 --kv-dtypes f16,bf16 --quiet --json " + json);
  ASSERT_EQ(r.code, 0) << r.err;
  // f32 reference, then per dtype its full KV and batch-max.
  EXPECT_NE(r.out.find("sweep of 5 points"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reference full KV at f32"), std::string::npos) << r.out;
  const nlohmann::json points = kvwb::read_json_file(json)["points"];
  ASSERT_EQ(points.size(), 5u);
  const std::vector<std::string> dtypes = {"f32", "f16", "f16", "bf16", "bf16"};
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i]["kv_dtype"], dtypes[i]) << points[i]["label"];
    EXPECT_EQ(points[i]["config"]["kv_dtype"], dtypes[i]);
    EXPECT_NE(points[i]["label"].get<std::string>().find(dtypes[i]), std::string::npos);
  }
  // Each recorded session is named by its point's label, dtype included.
  const nlohmann::json sessions = nlohmann::json::parse(cli("sessions list --json --db " + temp_path("s.db")).out);
  ASSERT_EQ(sessions.size(), 5u);
  for (size_t i = 0; i < sessions.size(); ++i) {
    EXPECT_EQ(sessions[i]["name"], "sweep: " + points[i]["label"].get<std::string>());
  }
}

TEST_F(SweepCli, InterruptStopsAfterThePointRunningAndTheNextRunResumes) {
  const std::string args = base_args(12) + " --policies batch-max,streaming-llm,h2o,snapkv --budget-tokens 8,12,16,256";
  const std::string err = temp_path("interrupted_err.txt");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = "exec " + std::string(KVWB_BINARY_DIR) + "/app/kvwb-cli " + args + " >/dev/null 2>" + err;
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ctrl-C as soon as the reference point is under way (its progress line is out).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_all(err).find("point 1/17") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const std::string stopped = read_all(err);
  ASSERT_TRUE(WIFEXITED(status)) << stopped;
  ASSERT_EQ(WEXITSTATUS(status), 130) << stopped;
  EXPECT_NE(stopped.find("stopping after the point running"), std::string::npos) << stopped;
  EXPECT_NE(stopped.find("interrupted after"), std::string::npos) << stopped;
  const size_t done = count(stopped, "session #");
  EXPECT_GE(done, 1u);
  EXPECT_LT(done, 17u);

  // Nothing recorded is lost: every point that ran is a finished session.
  const nlohmann::json sessions = nlohmann::json::parse(cli("sessions list --json --db " + temp_path("s.db")).out);
  ASSERT_EQ(sessions.size(), done);
  for (const nlohmann::json& s : sessions) EXPECT_EQ(s["status"], "finished");

  const Result resumed = cli(args);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(count(resumed.err, "recorded before, read back from the store"), done) << resumed.err;
  EXPECT_EQ(count(resumed.err, "session #"), 17u - done);
}

TEST_F(SweepCli, BadInputIsNamed) {
  struct Case {
    std::string flags, message;
  };
  const std::vector<Case> cases = {
      {"--policies batch-max,fast-kv --budget-tokens 64", "unknown policy 'fast-kv'"},
      {"--policies batch-max --budget-tokens ''", "--budget-tokens: empty list"},
      {"--policies batch-max --budget-tokens 64,,128", "--budget-tokens: empty item in '64,,128'"},
      {"--policies batch-max --budget-tokens 64,lots", "--budget-tokens: 'lots' is not a whole number"},
      {"--policies batch-max", "no budgets given: policy 'batch-max' needs a compression budget"},
      {"--policies '' --budget-tokens 64", "--policies: empty list"},
      {"--policies batch-max --budget-tokens 0", "budget 0 tokens"},
      {"--policies batch-max --budget-tokens 64 --chunks 0", "prefill chunk 0"},
      {"--policies batch-max --budget-tokens 64 --kv-dtypes f16,q5_1", "--kv-dtypes: 'q5_1' is not a KV dtype (one of f32"},
      {"--policies batch-max --budget-tokens 64 --kv-dtypes f16,,q8_0", "--kv-dtypes: empty item in 'f16,,q8_0'"},
      {"--policies batch-max --budget-tokens 64 --kv-dtypes ''", "--kv-dtypes: empty list"},
      {"--policies batch-max --budget-tokens 64 --export /nonexistent-dir/best.json", "/nonexistent-dir/best.json"},
  };
  for (const Case& c : cases) {
    const Result r = cli(base_args(1) + " " + c.flags);
    EXPECT_EQ(r.code, 1) << c.flags;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.flags << "\n" << r.err;
    EXPECT_EQ(count(r.err, "\n"), 1u) << "one line: " << r.err;
  }
  const Result automatic = cli(base_args(1, "auto") + " --policies batch-max --budget-tokens 64");
  EXPECT_EQ(automatic.code, 1);
  EXPECT_NE(automatic.err.find("sweep: the KV pool must be fixed"), std::string::npos) << automatic.err;
  const Result nothing = cli(base_args(2) + " --policies streaming-llm --budget-tokens 4 --min-accuracy 1.5 --export " +
                             temp_path("none.json") + " --quiet");
  EXPECT_EQ(nothing.code, 1);
  EXPECT_NE(nothing.out.find("no point reaches fidelity 1.500"), std::string::npos) << nothing.out;
  EXPECT_NE(nothing.err.find("--export: no point reaches fidelity 1.5: nothing written"), std::string::npos)
      << nothing.err;
}

}  // namespace
