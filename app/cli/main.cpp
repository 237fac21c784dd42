// kvwb-cli: every workbench action without a window. Errors print one line and exit non-zero.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>
#include <vector>

#include "app/cli/commands.h"
#include "engine/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"kvwb-cli: KV-cache compression workbench, headless"};
  app.require_subcommand(1);
  std::vector<kvwb::cli::Command> commands;
  commands.push_back(kvwb::cli::add_generate_command(app));
  commands.push_back(kvwb::cli::add_run_command(app));
  commands.push_back(kvwb::cli::add_eval_command(app));
  commands.push_back(kvwb::cli::add_score_command(app));
  commands.push_back(kvwb::cli::add_sessions_command(app));
  commands.push_back(kvwb::cli::add_sweep_command(app));
  commands.push_back(kvwb::cli::add_config_command(app));
  commands.push_back(kvwb::cli::add_soak_command(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const kvwb::cli::Command& command : commands) {
      if (command.subcommand->parsed()) return command.run();
    }
  } catch (const kvwb::Error& e) {
    std::fprintf(stderr, "kvwb-cli: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc& e) {
    // Memory that ran out outside a named buffer (a backend's own scratch): the user's limit,
    // not kvwb's bug. Named buffers (the KV pool) arrive as an Error above.
    std::fprintf(stderr, "kvwb-cli: error: out of memory (%s)\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kvwb-cli: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
