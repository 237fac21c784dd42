// kvwb-cli config export SESSION [--step N] [--out FILE] [--target T | --flags] [--db PATH]: the
// tuned RunConfig of a recorded session, or its settings for a peer (docs/config-export.md;
// --flags is --target vllm-kvcompress, kept for older scripts); kvwb-cli config import FILE:
// validates a RunConfig file and prints it with every default filled in.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "app/cli/commands.h"
#include "engine/config/run_config.h"
#include "engine/core/error.h"
#include "sessions/config_export.h"
#include "sessions/session_store.h"

namespace kvwb::cli {
namespace {

struct ConfigArgs {
  std::string db;
  int64_t session = 0;
  std::optional<int64_t> step;
  std::string out;
  bool flags = false;
  std::optional<std::string> target;
  std::string file;
};

int export_config(const ConfigArgs& a) {
  if (a.flags && a.target && *a.target != "vllm-kvcompress") {
    fail("--flags", "prints the vllm-kvcompress target; give --target {} alone", *a.target);
  }
  const std::optional<std::string> target = a.flags ? std::optional<std::string>("vllm-kvcompress") : a.target;
  if (target) check_export_target(*target, "--target");  // before the database is opened
  const std::string path = a.db.empty() ? default_session_db_path() : a.db;
  if (!std::filesystem::exists(path)) fail(path, "no session database here");
  SessionStore store = SessionStore::open(path, sqlite::OpenMode::read_write);
  const SessionInfo info = store.info(a.session);
  const std::string where = fmt::format("{}: session {} config", path, a.session);
  const RunConfig config = tuned_config(info.config, store.config_changes(a.session), a.step, where);
  const std::string json = run_config_to_json(config).dump(2) + "\n";
  if (!a.out.empty()) {
    std::ofstream out(a.out);
    if (!out) fail(a.out, "cannot open for writing");
    out << json;
    if (!out) fail(a.out, "write failed");
  }
  if (target) {
    const TargetExport exported = export_for_target(config, *target, "--target");
    std::fputs(exported.text.c_str(), stdout);
    if (exported.text.empty() || exported.text.back() != '\n') std::fputs("\n", stdout);
    for (const std::string& w : exported.warnings) std::fprintf(stderr, "kvwb-cli: warning: %s\n", w.c_str());
  } else if (a.out.empty()) {
    std::fputs(json.c_str(), stdout);
  }
  return 0;
}

int import_config(const ConfigArgs& a) {
  const RunConfig config = load_run_config(a.file);  // errors name the file and the key
  std::puts(run_config_to_json(config).dump(2).c_str());
  std::fprintf(stderr, "%s: a valid run config (schema_version %d)\n", a.file.c_str(), config.schema_version);
  return 0;
}

}  // namespace

Command add_config_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  CLI::App* config = app.add_subcommand("config", "Export a session's tuned run config; validate a config file");
  config->require_subcommand(1);
  CLI::App* export_cmd = config->add_subcommand("export", "The RunConfig JSON of a session (at a step), or its settings for a peer");
  export_cmd->add_option("session", args->session, "Session id")->required();
  export_cmd->add_option("--step", args->step, "The config as it was when this step ran (default: at the end)");
  export_cmd->add_option("--out,-o", args->out, "Write the JSON to this file");
  export_cmd->add_option("--target", args->target,
                         "Print the settings for a peer: vllm-kvcompress, vllm, llama.cpp (serving flags) or kvpress "
                         "(a Python press); warnings on stderr");
  export_cmd->add_flag("--flags", args->flags, "Print vLLM-kvcompress serving flags (--target vllm-kvcompress)");
  export_cmd->add_option("--db", args->db, "Session database (default: $XDG_DATA_HOME/kvwb/sessions.db)");
  CLI::App* import_cmd = config->add_subcommand("import", "Validate a RunConfig JSON file and print it in full");
  import_cmd->add_option("file", args->file, "RunConfig JSON file")->required();
  return {config, [=] { return export_cmd->parsed() ? export_config(*args) : import_config(*args); }};
}

}  // namespace kvwb::cli
