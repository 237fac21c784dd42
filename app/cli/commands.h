#pragma once
// The subcommands of kvwb-cli. Each registers its subcommand and options on the app and returns
// it with the action to run when it is the one chosen.
#include <CLI/CLI.hpp>

#include <functional>

namespace kvwb::cli {

struct Command {
  CLI::App* subcommand = nullptr;
  std::function<int()> run;
};

Command add_generate_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_score_command(CLI::App& app);
Command add_sessions_command(CLI::App& app);
Command add_config_command(CLI::App& app);
Command add_sweep_command(CLI::App& app);
Command add_soak_command(CLI::App& app);

}  // namespace kvwb::cli
