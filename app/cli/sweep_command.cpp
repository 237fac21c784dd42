// kvwb-cli sweep: (KV dtypes x) compression policies x budgets (x spans, chunk guidances, tuned
// policy knobs, prefill chunks) at one KV pool, each point recorded as a session, accuracy
// relative to a full-KV reference, the Pareto frontier and the fastest point at or above
// --min-accuracy (run/sweep/). Ctrl-C stops after the point running (a second Ctrl-C kills); the
// same command again skips every point already recorded.
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include <unistd.h>

#include "app/cli/commands.h"
#include "app/cli/config_flags.h"
#include "app/cli/output_path.h"
#include "app/cli/progress_bar.h"
#include "engine/config/run_config_schema.h"
#include "engine/core/error.h"
#include "run/sweep/sweep.h"
#include "run/sweep/sweep_lists.h"
#include "run/sweep/sweep_report.h"
#include "sessions/session_store.h"

namespace kvwb::cli {
namespace {

std::atomic<bool> stop_requested{false};

void on_interrupt(int) {
  stop_requested = true;
  static const char message[] = "\nkvwb-cli: stopping after the point running (Ctrl-C again to kill)\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message, sizeof(message) - 1);
}

// SIGINT sets the stop flag once, then reverts to the default action (a second Ctrl-C kills).
class InterruptGuard {
 public:
  InterruptGuard() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &previous_, nullptr); }

 private:
  struct sigaction previous_ {};
};

// The policy knobs a sweep tunes (SweepGrid::dimensions): each gets a list flag named after its
// schema flag (--window -> --windows; --sinks, already plural, takes the list itself).
constexpr std::array<std::string_view, 6> kTunedKnobs = {"policy.pool_kernel", "policy.protected_recent",
                                                          "policy.window",      "policy.min_head_fraction",
                                                          "policy.pyramid_beta", "policy.sinks"};

std::string list_flag(std::string_view key) {
  const std::string flag(config_field(key).flag);
  return flag.ends_with('s') ? flag : flag + "s";
}

struct SweepArgs {
  ConfigFlags flags;
  std::string policies = "decode-only,batch-max,kv-compress";
  // Given-but-empty is an error, absent is not.
  std::optional<std::string> budgets, budget_ratios, chunks, kv_dtypes, spans, chunk_guidances;
  std::array<std::optional<std::string>, kTunedKnobs.size()> knobs;  // one per kTunedKnobs entry
  double min_accuracy = 0.96;
  std::string db;
  std::string export_path;
  std::string json_path;
  bool quiet = false;
};

int run_sweep(const SweepArgs& a) {
  const RunConfig base = a.flags.resolve();
  SweepGrid grid;
  grid.policies = split_list(a.policies, "--policies");
  if (a.budgets) grid.budget_tokens = parse_int_list(*a.budgets, "--budget-tokens");
  if (a.budget_ratios) {
    for (const nlohmann::json& r : parse_config_values(*a.budget_ratios, "policy.budget_ratio", "--budget-ratios")) {
      grid.budget_ratios.push_back(r.get<double>());
    }
  }
  for (size_t i = 0; i < kTunedKnobs.size(); ++i) {
    if (!a.knobs[i]) continue;
    const std::string flag = "--" + list_flag(kTunedKnobs[i]);
    grid.dimensions.push_back({std::string(kTunedKnobs[i]), parse_config_values(*a.knobs[i], kTunedKnobs[i], flag)});
  }
  if (a.chunks) grid.prefill_chunks = parse_int_list(*a.chunks, "--chunks");
  if (a.kv_dtypes) grid.kv_dtypes = parse_kv_dtype_list(*a.kv_dtypes, "--kv-dtypes");
  if (a.spans) grid.spans = split_list(*a.spans, "--spans");
  if (a.chunk_guidances) grid.chunk_guidances = split_list(*a.chunk_guidances, "--chunk-guidances");
  if (!(a.min_accuracy >= 0)) fail("--min-accuracy", "must be 0 or more, got {}", a.min_accuracy);
  SweepOptions options;
  options.db_path = a.db.empty() ? default_session_db_path() : a.db;
  options.min_accuracy = a.min_accuracy;
  // Output paths are checked before the first point runs, not after the last.
  if (!a.export_path.empty()) check_writable(a.export_path);
  if (!a.json_path.empty()) check_writable(a.json_path);
  Sweep sweep(base, grid, options);
  const size_t n = sweep.points().size();

  ProgressBar bar("sweep");
  std::string current;
  SweepCallbacks callbacks;
  callbacks.point_started = [&](size_t i, const SweepPoint& p, bool reused) {
    current = fmt::format("point {}/{}: {}", i + 1, n, p.label);
    if (reused && !a.quiet) std::fprintf(stderr, "%s: recorded before, read back from the store\n", current.c_str());
  };
  callbacks.progress = [&](int64_t done, int64_t total) {
    if (!a.quiet) bar.update(done, total, current);
  };
  callbacks.point_finished = [&](size_t i, const SweepAnalysis& analysis) {
    if (a.quiet || analysis.rows.empty()) return;
    const SweepRow& r = analysis.rows.back();
    if (!r.measured.reused) {
      bar.finish();
      std::fprintf(stderr, "%s: %.1f tok/s, %s %.3f, session #%lld\n", current.c_str(),
                   r.measured.summary.total_tokens_per_second, analysis.accuracy_basis.c_str(), r.accuracy,
                   static_cast<long long>(r.measured.session_id));
    }
  };
  stop_requested = false;
  SweepAnalysis analysis;
  {
    InterruptGuard guard;
    analysis = sweep.run(callbacks, &stop_requested);
  }
  std::printf("sweep of %zu points at KV pool %s, workload %s, model %s, reference full KV at %s; sessions in %s\n\n",
              n, format_bytes(*base.kv_pool_bytes).c_str(), base.workload.c_str(),
              (base.random_weights.empty() ? base.model : "random weights of " + base.random_weights).c_str(),
              reference_kv_dtype(base, grid).c_str(), options.db_path.c_str());
  std::fputs(format_sweep_table(analysis).c_str(), stdout);
  const std::string ratios = format_task_ratios(analysis);
  if (!ratios.empty()) std::printf("\n%s", ratios.c_str());
  std::printf("\n%s", format_recommendation(analysis).c_str());
  if (!a.json_path.empty()) {
    std::ofstream out(a.json_path);
    out << sweep_to_json(analysis).dump(2) << "\n";
    if (!out) fail(a.json_path, "write failed");
  }
  if (!analysis.complete) {
    std::fprintf(stderr,
                 "kvwb-cli: interrupted after %zu of %zu points; run the same command again to resume (recorded points "
                 "are skipped)%s\n",
                 analysis.rows.size(), n, a.export_path.empty() ? "" : "; nothing exported");
    return 130;
  }
  if (!a.export_path.empty()) {
    if (!analysis.recommended) {
      fail("--export", "no point reaches {} {}: nothing written to {}", analysis.accuracy_basis, a.min_accuracy,
           a.export_path);
    }
    save_run_config(analysis.rows[*analysis.recommended].point.config, a.export_path);
    std::printf("wrote %s (run it with: kvwb-cli run --config %s)\n", a.export_path.c_str(), a.export_path.c_str());
  }
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* sub = app.add_subcommand(
      "sweep", "Compression budgets x policies at one KV pool: frontier of throughput vs accuracy, and the best config");
  std::set<std::string_view> left_out = {"policy.name", "policy.budget_tokens", "policy.budget_ratio", "record"};
  for (std::string_view key : kTunedKnobs) {
    if (list_flag(key) == config_field(key).flag) left_out.insert(key);  // the list flag replaces it
  }
  args->flags.add_to(*sub, left_out);
  sub->add_option("--policies", args->policies, "Comma-separated policies (a full-KV reference always runs first)")
      ->capture_default_str();
  sub->add_option("--budget-tokens", args->budgets, "Comma-separated compression budgets in tokens, e.g. 64,128,256");
  sub->add_option("--budget-ratios", args->budget_ratios,
                  "Comma-separated budgets as the fraction of each request's prompt kept, e.g. 0.5,0.25 (with "
                  "--budget-tokens too, each policy runs at every token budget, then every ratio)");
  for (size_t i = 0; i < kTunedKnobs.size(); ++i) {
    const ConfigField& field = config_field(kTunedKnobs[i]);
    sub->add_option("--" + list_flag(field.key), args->knobs[i],
                    fmt::format("Comma-separated values of --{} for the points whose policy reads it ({})", field.flag,
                                field.help));
  }
  sub->add_option("--chunks", args->chunks, "Comma-separated prefill chunk sizes (default: --prefill-chunk)");
  sub->add_option("--kv-dtypes", args->kv_dtypes,
                  "Comma-separated KV cache dtypes, e.g. f16,q8_0,q4_0 (default: --kv-dtype); given, the reference is "
                  "full KV at f32 and each dtype's full KV is a point");
  sub->add_option("--spans", args->spans,
                  "Comma-separated span kinds of the evicting points, e.g. none,word (default: --span)");
  sub->add_option("--chunk-guidances", args->chunk_guidances,
                  "Comma-separated chunk guidances of the points that evict between prefill chunks, e.g. "
                  "none,question (default: --chunk-guidance)");
  sub->add_option("--min-accuracy", args->min_accuracy, "Accuracy floor relative to full KV for the recommendation")
      ->capture_default_str();
  sub->add_option("--db", args->db, "Session database (default: $XDG_DATA_HOME/kvwb/sessions.db)");
  sub->add_option("--export", args->export_path, "Write the recommended RunConfig JSON here");
  sub->add_option("--json", args->json_path, "Write every point, the frontier and the recommendation as JSON");
  sub->add_flag("--quiet,-q", args->quiet, "No progress lines");
  return {sub, [args] { return run_sweep(*args); }};
}

}  // namespace kvwb::cli
