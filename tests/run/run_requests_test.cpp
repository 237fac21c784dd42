// A Run fed requests in memory behaves as one that reads them from a file; every step hands out
// the requests that finished in it, and observers can be detached.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "run/run.h"

namespace kvwb {
namespace {

std::string workload_file() {
  const std::string dir = ::testing::TempDir() + "/kvwb_run_requests";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/w.jsonl";
  std::ofstream(path) << "{\"id\": \"a\", \"prompt\": \"" << std::string(50, 'x') << " tail\", \"max_new_tokens\": 9}\n"
                      << "{\"id\": \"b\", \"prompt\": \"the cat sat on the mat\", \"max_new_tokens\": 5}\n"
                      << "{\"id\": \"c\", \"prompt\": \"" << std::string(30, 'q') << "\", \"max_new_tokens\": 7}\n";
  return path;
}

RunConfig config() {
  RunConfig c;
  c.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  c.workload = workload_file();
  c.kv_pool_bytes = int64_t{4} << 20;
  c.block_size = 8;
  c.prefill_chunk = 16;
  c.threads = 1;
  c.policy.name = "batch-max";
  c.policy.budget_tokens = 24;
  return c;
}

std::map<std::string, std::vector<int32_t>> outputs(const std::vector<RequestResult>& results) {
  std::map<std::string, std::vector<int32_t>> out;
  for (const RequestResult& r : results) out[r.id] = r.output_tokens;
  return out;
}

TEST(RunRequests, InMemoryRequestsRunAsTheFileDoes) {
  kvwb::Run from_file(config());
  from_file.run_to_completion();

  RunConfig c = config();
  std::vector<Request> requests = load_run_requests(c);
  ASSERT_EQ(requests.size(), 3u);
  c.workload = "/nonexistent/never-read.jsonl";  // the in-memory form never opens it
  kvwb::Run in_memory(c, requests);
  in_memory.run_to_completion();
  EXPECT_EQ(outputs(in_memory.results()), outputs(from_file.results()));
  EXPECT_EQ(in_memory.summary().prompt_tokens, from_file.summary().prompt_tokens);
}

TEST(RunRequests, MaxRequestsTakesTheFirstOnesOfTheFile) {
  RunConfig c = config();
  c.max_requests = 2;
  const std::vector<Request> requests = load_run_requests(c);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].id, "a");
  EXPECT_EQ(requests[1].id, "b");
}

TEST(RunRequests, EveryStepHandsOutWhatFinishedInItAndObserversSeeTheSame) {
  kvwb::Run run(config());
  std::vector<std::string> observed, detached_saw;
  const int64_t kept = run.add_step_observer([&](const RunStep& s) {
    for (const RequestResult& r : s.finished) observed.push_back(r.id);
  });
  const int64_t detached = run.add_step_observer([&](const RunStep& s) {
    for (const RequestResult& r : s.finished) detached_saw.push_back(r.id);
  });
  run.remove_observer(detached);
  std::vector<std::string> returned;
  size_t results_before = 0;
  while (!run.done()) {
    const RunStep step = run.step();
    // What finished in this step, and nothing else, joined results().
    ASSERT_EQ(run.results().size(), results_before + step.finished.size());
    for (size_t i = 0; i < step.finished.size(); ++i) {
      EXPECT_EQ(run.results()[results_before + i].output_tokens, step.finished[i].output_tokens);
      returned.push_back(step.finished[i].id);
    }
    results_before = run.results().size();
  }
  EXPECT_EQ(returned.size(), 3u);
  EXPECT_EQ(observed, returned);
  EXPECT_TRUE(detached_saw.empty());
  run.remove_observer(kept);
  run.remove_observer(12345);  // unknown: nothing happens
}

TEST(RunRequests, DuplicateIdsAreRefusedNamingTheId) {
  Request r;
  r.id = "same";
  r.prompt = "hello";
  r.max_new_tokens = 2;
  try {
    kvwb::Run run(config(), {r, r});
    FAIL() << "accepted two requests with one id";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "same: two requests have this id");
  }
}

// `eval --ignore-eos`: every request generates exactly its max_new_tokens, and a live config
// change between steps (which rebuilds the engine options) keeps it so.
TEST(RunRequests, GeneratePastEosRunsEveryRequestToItsMaxNewTokensAcrossConfigChanges) {
  kvwb::Run run(config());
  run.generate_past_eos();
  ASSERT_FALSE(run.engine().options().stop_at_eos);
  run.step();
  RunConfig changed = config();
  changed.policy.budget_tokens = 32;  // a live knob
  run.update_config(changed);
  EXPECT_FALSE(run.engine().options().stop_at_eos);
  run.run_to_completion();
  const std::map<std::string, int64_t> max_new = {{"a", 9}, {"b", 5}, {"c", 7}};
  ASSERT_EQ(run.results().size(), max_new.size());
  for (const RequestResult& r : run.results()) {
    EXPECT_EQ(static_cast<int64_t>(r.output_tokens.size()), max_new.at(r.id)) << r.id;
  }
}

}  // namespace
}  // namespace kvwb
