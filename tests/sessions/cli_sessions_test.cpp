// kvwb-cli end to end on the llama-tied fixture model: run --record, the sessions commands,
// config export/import, and a rerun from the exported config reproducing the greedy outputs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "engine/core/json_file.h"
#include "profiler/step_counters.h"
#include "sessions/session_store.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

using testing_util::read_bytes;
using testing_util::ScratchDir;

struct Result {
  int code = -1;
  std::string out, err;
};

Result cli(const ScratchDir& dir, const std::string& args, const std::string& env = "") {
  const std::string out = dir.file("cli_out.txt"), err = dir.file("cli_err.txt");
  const std::string cmd = env + " " + std::string(KVWB_BINARY_DIR) + "/app/kvwb-cli " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(out), read_bytes(err)};
}

std::string fixture_model() { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied"; }

std::string write_workload(const ScratchDir& dir) {
  const std::string path = dir.file("workload.jsonl");
  std::ofstream(path)
      << "{\"id\": \"a\", \"prompt\": \"one two three four\", \"max_new_tokens\": 9, \"task\": \"alpha\", "
         "\"answers\": [\"one\"], \"metric\": \"contains_any\"}\n"
         "{\"id\": \"b\", \"prompt\": \"the cat sat on the mat\", \"max_new_tokens\": 12, \"task\": \"beta\", "
         "\"answers\": [\"zzz\"], \"metric\": \"contains_any\"}\n"
         "{\"id\": \"c\", \"prompt\": \"hello world\", \"max_new_tokens\": 7}\n"
         "{\"id\": \"d\", \"prompt\": \"" + std::string(60, 'q') + "\", \"max_new_tokens\": 10}\n";
  return path;
}

std::map<std::string, std::vector<int32_t>> outputs(const std::string& results_json) {
  std::map<std::string, std::vector<int32_t>> out;
  for (const auto& r : read_json_file(results_json)) {
    out[r.at("id").get<std::string>()] = r.at("output_tokens").get<std::vector<int32_t>>();
  }
  return out;
}

std::string base_run(const ScratchDir& dir) {
  return "run --model " + fixture_model() + " --workload " + write_workload(dir) +
         " --kv-pool 4MiB --block-size 8 --quiet";
}

TEST(CliSessions, ARecordedRunsExportedConfigReproducesItsGreedyOutputs) {
  ScratchDir dir;
  const std::string db = dir.file("sessions.db");
  Result r = cli(dir, base_run(dir) + " --max-batch 3 --record " + db + " --results " + dir.file("first.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("recorded session #1 in " + db), std::string::npos) << r.err;

  // What the session holds matches what the run printed.
  const auto first = outputs(dir.file("first.json"));
  ASSERT_EQ(first.size(), 4u);
  {
    SessionStore store = SessionStore::open(db);
    const Session s = store.load(1);
    EXPECT_EQ(s.info.status, SessionStatus::finished);
    EXPECT_EQ(s.info.model, fixture_model());
    EXPECT_GT(s.steps.size(), 4u);
    EXPECT_FALSE(s.retention.empty());
    EXPECT_EQ(s.retention[0].step, 0);
    ASSERT_EQ(s.results.size(), 4u);
    for (const SessionResult& res : s.results) EXPECT_EQ(res.output_tokens, first.at(res.id)) << res.id;
    EXPECT_EQ(s.summary["requests"], 4);
    EXPECT_TRUE(s.info.config["record"].is_null());
  }

  const std::string exported = dir.file("tuned.json");
  r = cli(dir, "config export 1 --db " + db + " --out " + exported);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json config = read_json_file(exported);
  EXPECT_EQ(config["schema_version"], kvwb::kRunConfigSchemaVersion);
  EXPECT_EQ(config["block_size"], 8);
  EXPECT_EQ(config["max_batch"], 3);
  EXPECT_TRUE(config["record"].is_null());
  r = cli(dir, "config import " + exported);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), config);

  r = cli(dir, "run --config " + exported + " --quiet --results " + dir.file("second.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(outputs(dir.file("second.json")), first);
  EXPECT_EQ(r.err.find("recorded session"), std::string::npos);  // the export does not record again
}

TEST(CliSessions, AProfiledEvictingRunRecordsItsEventsAndTheFirstTwoRequestsEvictionMaps) {
  ScratchDir dir;
  const std::string db = dir.file("sessions.db");
  // No trace_sequences: the first two requests of the workload ("a", "b") are traced.
  Result r = cli(dir, base_run(dir) + " --policy batch-max --budget-tokens 8 --protected-recent 2 --sinks 1 " +
                          "--prefill-chunk 8 --decode-interval 2 --record " + db + " --profile --results " + dir.file("first.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("% step"), std::string::npos) << "the --profile table is still printed";

  SessionStore store = SessionStore::open(db);
  const Session s = store.load(1);
  ASSERT_EQ(s.info.status, SessionStatus::finished);
  int64_t evicted = 0;
  for (const StepStats& step : s.steps) evicted += step.evicted_slots;
  ASSERT_GT(evicted, 0) << "a budget of 8 tokens must evict";

  // The profiler's events of every step: one step span per recorded step, op spans inside the
  // steps, the per-step counters.
  std::map<int64_t, int> step_spans;
  int64_t ops = 0, evict_spans = 0;
  for (const Span& span : s.events.spans) {
    if (span.category == Category::step) ++step_spans[span.step];
    if (span.category == Category::op) ++ops;
    if (span.name == "evict") ++evict_spans;
  }
  ASSERT_EQ(step_spans.size(), s.steps.size());
  for (const StepStats& step : s.steps) EXPECT_EQ(step_spans[step.step], 1) << "step " << step.step;
  EXPECT_GT(ops, static_cast<int64_t>(s.steps.size()));
  EXPECT_GT(evict_spans, 0);
  std::map<int64_t, double> batch_counter;
  for (const Counter& c : s.events.counters) {
    if (c.name == counter_names::batch_size) batch_counter[c.step] = c.value;
  }
  ASSERT_EQ(batch_counter.size(), s.steps.size());
  for (const StepStats& step : s.steps) EXPECT_EQ(batch_counter[step.step], static_cast<double>(step.batch_size));

  // Eviction maps of exactly the first two requests, covering their whole context.
  const auto first = outputs(dir.file("first.json"));
  ASSERT_EQ(s.eviction_maps.size(), 2u);
  std::set<std::string> mapped;
  for (const EvictionMap& m : s.eviction_maps) {
    mapped.insert(m.request_id);
    const auto result = std::find_if(s.results.begin(), s.results.end(), [&](const SessionResult& x) { return x.id == m.request_id; });
    ASSERT_NE(result, s.results.end());
    EXPECT_EQ(m.context_length, result->prompt_tokens + static_cast<int64_t>(first.at(m.request_id).size()));
    EXPECT_FALSE(m.heads.empty()) << m.request_id << ": its prompt is longer than the budget";
  }
  EXPECT_EQ(mapped, (std::set<std::string>{"a", "b"}));
}

TEST(CliSessions, ListShowCompareRenameExportImportDelete) {
  ScratchDir dir;
  const std::string db = dir.file("sessions.db");
  ASSERT_EQ(cli(dir, base_run(dir) + " --record " + db).code, 0);
  ASSERT_EQ(cli(dir, base_run(dir) + " --max-batch 1 --record " + db).code, 0);

  Result r = cli(dir, "sessions list --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("full on llama-tied"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;  // header + 2

  r = cli(dir, "sessions rename 2 'batch of one' --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  r = cli(dir, "sessions --db " + db + " show 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("session #2  batch of one"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"max_batch\": 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("throughput"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alpha"), std::string::npos) << r.out;  // the per-task table
  EXPECT_NE(r.out.find("finished"), std::string::npos) << r.out;

  r = cli(dir, "sessions compare 1 2 --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("max_batch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("throughput (generated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max batch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alpha (1/1)"), std::string::npos) << r.out;

  const std::string one = dir.file("one.db");
  r = cli(dir, "sessions export 2 " + one + " --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string other = dir.file("other.db");
  r = cli(dir, "sessions import " + one + " --db " + other);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("imported #1 \"batch of one\" as #1"), std::string::npos) << r.out;
  r = cli(dir, "sessions import " + one + " --db " + other);
  EXPECT_NE(r.out.find("skipped #1 \"batch of one\": already present as #1"), std::string::npos) << r.out;
  r = cli(dir, "sessions import " + one + " --db " + db);  // back into the source store: already there
  EXPECT_NE(r.out.find("already present as #2"), std::string::npos) << r.out;

  r = cli(dir, "sessions delete 1 --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  r = cli(dir, "sessions list --db " + db + " --json");
  const nlohmann::json list = nlohmann::json::parse(r.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], 2);
}

TEST(CliSessions, ConfigExportFlagsAndStepAndABareRecordFlag) {
  ScratchDir dir;
  const std::string data_home = dir.file("xdg");
  Result r = cli(dir, base_run(dir) + " --max-tokens-per-step 96 --record", "XDG_DATA_HOME=" + data_home);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string db = data_home + "/kvwb/sessions.db";
  EXPECT_NE(r.err.find("recorded session #1 in " + db), std::string::npos) << r.err;

  // The KV-Compress mapping itself is checked in config_export_test.cpp; here: the command.
  r = cli(dir, "config export 1 --flags", "XDG_DATA_HOME=" + data_home);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("--model " + fixture_model() + " ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("--block-size 8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--max-num-batched-tokens 96"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--enable-kvcompress"), std::string::npos) << r.out;  // policy full
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.err.find("kvwb-cli: warning: prefill_chunk=128: no counterpart"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kvwb-cli: warning: backend=cpu"), std::string::npos) << r.err;
  // --flags is the vllm-kvcompress target.
  const Result target = cli(dir, "config export 1 --target vllm-kvcompress --db " + db);
  ASSERT_EQ(target.code, 0) << target.err;
  EXPECT_EQ(target.out, r.out);
  EXPECT_EQ(target.err, r.err);

  // The other targets (their mappings are checked in config_export_test.cpp).
  r = cli(dir, "config export 1 --target llama.cpp --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("-m " + fixture_model() + " -ngl 0 -ctk f16 -ctv f16 ", 0), 0u) << r.out;  // kv_dtype default f16
  EXPECT_NE(r.out.find(" -b 96 "), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = cli(dir, "config export 1 --target vllm --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("--max-num-batched-tokens 96"), std::string::npos) << r.out;
  r = cli(dir, "config export 1 --target kvpress --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "press = None  # full KV: call the pipeline without a press\n");
  EXPECT_NE(r.err.find("kvwb-cli: warning: kv_dtype=f16"), std::string::npos) << r.err;

  r = cli(dir, "config export 1 --target sglang --db " + db);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "kvwb-cli: error: --target: unknown target 'sglang' (one of vllm-kvcompress, vllm, llama.cpp, kvpress)\n");
  r = cli(dir, "config export 1 --flags --target kvpress --db " + db);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: --flags: prints the vllm-kvcompress target; give --target kvpress alone\n");

  r = cli(dir, "config export 1 --step 0 --db " + db);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["max_tokens_per_step"], 96);
}

TEST(CliSessions, BadInputGivesOneLineErrorsNamingTheFileOrKey) {
  ScratchDir dir;
  const std::string db = dir.file("sessions.db");
  ASSERT_EQ(cli(dir, base_run(dir) + " --record " + db).code, 0);
  const std::string before = read_bytes(db);

  Result r = cli(dir, "sessions show 9 --db " + db);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: " + db + ": no session #9\n");
  r = cli(dir, "config export 9 --db " + db);
  EXPECT_EQ(r.err, "kvwb-cli: error: " + db + ": no session #9\n");

  const std::string notes = dir.file("notes.txt");
  testing_util::write_bytes(notes, std::string(3000, 'n'));
  r = cli(dir, "sessions list --db " + notes);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("kvwb-cli: error: " + notes + ": not an SQLite database", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = cli(dir, base_run(dir) + " --record " + notes);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("kvwb-cli: error: " + notes + ": not an SQLite database", 0), 0u) << r.err;

  const std::string config = dir.file("bad.json");
  std::ofstream(config) << "{\"policy\": {\"name\": \"full\", \"windw\": 3}}";
  r = cli(dir, "config import " + config);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "kvwb-cli: error: " + config + ": policy: unknown key 'windw'\n");

  const std::string unwritable = ::geteuid() == 0 ? "/proc/kvwb-none/s.db" : "/nonexistent-root-dir/kvwb/s.db";
  r = cli(dir, base_run(dir) + " --record " + unwritable);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("kvwb-cli: error: " + unwritable + ": ", 0), 0u) << r.err;

  // None of that touched what was recorded.
  EXPECT_EQ(read_bytes(db), before);
  SessionStore store = SessionStore::open(db);
  EXPECT_EQ(store.list().size(), 1u);
}

}  // namespace
}  // namespace kvwb
