// kvwb-cli run: a workload to completion under one RunConfig, with a summary; and
// kvwb-cli eval: the same, printing the per-task accuracy table; and
// kvwb-cli score: another engine's outputs for a workload, scored as eval scores kvwb's
// (bench/kvpress_compare.sh scores kvpress's outputs with it).
// Both take --trace FILE (Chrome trace JSON of every step, op and counter; opens in Perfetto)
// and --profile (the per-op time table after the summary).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "app/cli/commands.h"
#include "app/cli/config_flags.h"
#include "app/cli/output_path.h"
#include "app/cli/progress_bar.h"
#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/workload/metrics.h"
#include "profiler/chrome_trace.h"
#include "profiler/op_summary.h"
#include "run/run.h"
#include "run/run_report.h"
#include "run/session_recording.h"
#include "sessions/session_store.h"

namespace kvwb::cli {
namespace {

struct RunArgs {
  ConfigFlags flags;
  CLI::App* subcommand = nullptr;
  std::string json_path;
  std::string results_path;
  std::string trace_path;
  int64_t top_logprobs = 0;
  bool profile = false;
  bool ignore_eos = false;
  bool quiet = false;
};

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  if (!out) fail(path, "cannot open for writing");
  out << j.dump(2) << "\n";
  if (!out) fail(path, "write failed");
}

int run_workload(const RunArgs& args, bool eval) {
  const RunConfig config = args.flags.resolve();
  if (!args.trace_path.empty()) check_writable(args.trace_path);  // before the model loads
  if (args.top_logprobs > 0 && args.results_path.empty()) {
    fail("--top-logprobs", "needs --results (the log-probabilities are written there)");
  }
  Run run(config);
  if (args.top_logprobs > 0) run.record_top_logprobs(args.top_logprobs);
  if (args.ignore_eos) run.generate_past_eos();
  const bool profiling = args.profile || !args.trace_path.empty();
  if (profiling) {
    run.enable_profiling();
    if (!run.gpu_activity_message().empty()) {
      std::fprintf(stderr, "kvwb-cli: note: no GPU activity in the profile: %s\n", run.gpu_activity_message().c_str());
    }
  }
  // --record DB records into DB; a bare --record into the default session database.
  std::string record = config.record;
  if (record.empty() && args.subcommand->count("--record") > 0) record = default_session_db_path();
  std::unique_ptr<RunRecording> recording;
  if (!record.empty()) recording = std::make_unique<RunRecording>(run, record);
  ProgressBar bar(eval ? "eval" : "run");
  const RunSummary summary = run.run_to_completion([&](int64_t done, int64_t total) {
    if (!args.quiet) bar.update(done, total, fmt::format("batch {}", run.engine().running()));
  });
  if (!args.quiet) bar.finish();
  std::fputs(format_summary(summary).c_str(), stdout);
  if (eval || !summary.tasks.empty()) {
    std::fputs("\n", stdout);
    std::fputs(format_task_table(summary).c_str(), stdout);
  }
  if (!args.json_path.empty()) {
    nlohmann::json j = summary_to_json(summary);
    j["config"] = run_config_to_json(run.config());
    write_json(args.json_path, j);
  }
  if (!args.results_path.empty()) write_json(args.results_path, results_to_json(run.results()));
  if (profiling) {
    const Trace trace = run.take_trace();
    if (args.profile) {
      std::fputs("\n", stdout);
      std::fputs(format_op_summary(summarize_ops(trace)).c_str(), stdout);
    }
    if (!args.trace_path.empty()) {
      write_chrome_trace(trace, args.trace_path);
      if (trace.dropped_events > 0) {
        std::fprintf(stderr, "kvwb-cli: warning: the trace is missing %lld events (the profiler's cap was reached)\n",
                     static_cast<long long>(trace.dropped_events));
      }
    }
  }
  if (recording) {
    recording->finish();
    if (recording->dropped() > 0) {
      std::fprintf(stderr, "kvwb-cli: warning: the session recorder dropped %lld items (its queue was full)\n",
                   static_cast<long long>(recording->dropped()));
    }
    std::fprintf(stderr, "recorded session #%lld in %s\n", static_cast<long long>(recording->session_id()),
                 recording->path().c_str());
  }
  return 0;
}

Command add(CLI::App& app, const char* name, const char* help, bool eval) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(name, help);
  args->flags.add_to(*sub);
  args->subcommand = sub;
  sub->get_option("--record")->expected(0, 1);  // a bare --record uses the default database
  sub->add_option("--json", args->json_path, "Write the summary (and the resolved config) as JSON");
  sub->add_option("--results", args->results_path, "Write every request's output and score as JSON");
  sub->add_option("--top-logprobs", args->top_logprobs,
                  "With --results: each generated token's K most likely next tokens and their log-probabilities "
                  "(bench/compare_results.py compares two runs by them)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  sub->add_option("--trace", args->trace_path, "Write a Chrome trace JSON of every step, op and counter (open it in ui.perfetto.dev)");
  sub->add_flag("--profile", args->profile, "Print time per op (count, total, mean, p50, p99, share of step) after the summary");
  sub->add_flag("--ignore-eos", args->ignore_eos,
                "Generate every request's max_new_tokens, past the end-of-sequence token (a fixed-shape "
                "throughput measurement, as llama.cpp's batched-bench; scores then include the extra text)");
  sub->add_flag("--quiet,-q", args->quiet, "No progress line");
  return {sub, [args, eval] { return run_workload(*args, eval); }};
}

struct ScoreArgs {
  std::string workload;
  std::string outputs;
  std::string results_path;
};

// Outputs: a JSON array of {"id", "output"} (other keys are ignored); every output's id must be
// a request of the workload. Results: eval's --results format, in the outputs' order.
int score_outputs(const ScoreArgs& args) {
  const Workload workload = load_workload(args.workload);
  std::map<std::string, const Request*> by_id;
  for (const Request& r : workload.requests) by_id[r.id] = &r;
  const nlohmann::json outputs = read_json_file(args.outputs);
  if (!outputs.is_array()) fail(args.outputs, "expected a JSON array of {{\"id\", \"output\"}}");
  std::vector<RequestResult> results;
  double sum = 0;
  int64_t scored = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string where = fmt::format("{}: item {}", args.outputs, i);
    const std::string id = json_required<std::string>(outputs[i], "id", where);
    auto it = by_id.find(id);
    if (it == by_id.end()) fail(where, "id '{}' is not a request of {}", id, args.workload);
    RequestResult r;
    r.id = id;
    r.task = it->second->task;
    r.metric = it->second->metric;
    r.output_text = json_required<std::string>(outputs[i], "output", where);
    if (!r.metric.empty()) {
      r.score = score_answer(r.metric, r.output_text, it->second->answers);
      sum += r.score;
      ++scored;
    }
    results.push_back(std::move(r));
  }
  std::printf("%lld outputs, %lld scored, mean score %.4f\n", static_cast<long long>(results.size()),
              static_cast<long long>(scored), scored > 0 ? sum / static_cast<double>(scored) : 0.0);
  if (!args.results_path.empty()) write_json(args.results_path, results_to_json(results));
  return 0;
}

}  // namespace

Command add_score_command(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  CLI::App* sub = app.add_subcommand("score", "Score another engine's outputs for a workload with its requests' metrics");
  sub->add_option("--workload", args->workload, "The workload JSONL the outputs answer")->required();
  sub->add_option("--outputs", args->outputs, "JSON array of {\"id\", \"output\"}")->required();
  sub->add_option("--results", args->results_path, "Write every output with its score as JSON (eval's --results format)");
  return {sub, [args] { return score_outputs(*args); }};
}

Command add_run_command(CLI::App& app) {
  return add(app, "run", "Run a workload to completion and print throughput, batch and memory", false);
}

Command add_eval_command(CLI::App& app) {
  return add(app, "eval", "Run a workload and print accuracy per task", true);
}

}  // namespace kvwb::cli
