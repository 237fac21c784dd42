// kvwb-cli soak: continuous batching for a fixed wall time with live budget changes and
// recording on, sampling RSS and open file descriptors into a CSV (run/soak.h). The samples
// print as they are taken; tools/plot_soak.py draws the CSV (docs/reliability.md).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "app/cli/commands.h"
#include "app/cli/config_flags.h"
#include "app/cli/output_path.h"
#include "engine/core/error.h"
#include "run/soak.h"

namespace kvwb::cli {
namespace {

struct SoakArgs {
  ConfigFlags flags;
  double seconds = 120;
  double change_every = 3;
  double sample_every = 1;
  double warmup = 30;
  std::string csv_path;
  std::vector<int64_t> budgets{48, 96, 64, 128};
};

int soak(const SoakArgs& args) {
  SoakOptions o;
  o.config = args.flags.resolve();
  if (o.config.record.empty()) fail("--record", "the soak records its runs: name a session database");
  if (!args.csv_path.empty()) check_writable(args.csv_path);
  o.seconds = args.seconds;
  o.budget_change_seconds = args.change_every;
  o.sample_seconds = args.sample_every;
  o.budgets = args.budgets;
  const SoakReport r = run_soak(o, [](const SoakSample& s) {
    std::printf("%8.1f s  steps %-8lld requests %-6lld runs %-4lld rss %7.1f MiB  fds %lld\n", s.seconds,
                static_cast<long long>(s.steps), static_cast<long long>(s.requests), static_cast<long long>(s.runs),
                static_cast<double>(s.rss_bytes) / (1 << 20), static_cast<long long>(s.open_fds));
    std::fflush(stdout);
  });
  if (!args.csv_path.empty()) {
    std::ofstream out(args.csv_path);
    out << soak_csv(r.samples);
    if (!out) fail(args.csv_path, "write failed");
  }
  std::printf("soak: %lld steps, %lld requests, %lld runs, %lld budget changes (%lld refused), %lld recorder items dropped\n",
              static_cast<long long>(r.steps), static_cast<long long>(r.requests), static_cast<long long>(r.runs),
              static_cast<long long>(r.budget_changes), static_cast<long long>(r.refused_changes),
              static_cast<long long>(r.dropped_items));
  std::printf("soak: growth after %.0f s of warm-up (mean of the last third minus the first): rss %+.2f MiB, fds %+.2f\n",
              args.warmup, soak_growth(r.samples, args.warmup, &SoakSample::rss_bytes) / (1 << 20),
              soak_growth(r.samples, args.warmup, &SoakSample::open_fds));
  return 0;
}

}  // namespace

Command add_soak_command(CLI::App& app) {
  auto args = std::make_shared<SoakArgs>();
  CLI::App* sub = app.add_subcommand("soak", "Run continuous batching for a while with live budget changes and recording, sampling RSS and fds");
  args->flags.add_to(*sub);
  sub->add_option("--seconds", args->seconds, "Wall time to run")->capture_default_str();
  sub->add_option("--change-every", args->change_every, "Seconds between live budget changes")->capture_default_str();
  sub->add_option("--sample-every", args->sample_every, "Seconds between RSS / fd samples")->capture_default_str();
  sub->add_option("--warmup", args->warmup, "Seconds excluded from the growth figure")->capture_default_str();
  sub->add_option("--budgets", args->budgets, "Compression budgets (tokens) cycled through")->capture_default_str();
  sub->add_option("--csv", args->csv_path, "Write the samples as CSV");
  return {sub, [args] { return soak(*args); }};
}

}  // namespace kvwb::cli
