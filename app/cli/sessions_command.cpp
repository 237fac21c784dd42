// kvwb-cli sessions list|show|compare|export|import|delete|rename|annotate [--db PATH]: the
// session browser without a window.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/cli/commands.h"
#include "engine/core/error.h"
#include "run/run_report.h"
#include "sessions/config_export.h"
#include "sessions/session_compare.h"
#include "sessions/session_store.h"

namespace kvwb::cli {
namespace {

struct SessionsArgs {
  std::string db;
  bool json = false;
  int64_t id = 0, other = 0;
  std::string file, name, text;
};

std::string db_path(const SessionsArgs& a) { return a.db.empty() ? default_session_db_path() : a.db; }

SessionStore open_store(const SessionsArgs& a) {
  const std::string path = db_path(a);
  if (!std::filesystem::exists(path)) fail(path, "no session database here yet (record one with kvwb-cli run --record)");
  return SessionStore::open(path, sqlite::OpenMode::read_write);
}

nlohmann::json info_json(const SessionInfo& s) {
  return {{"id", s.id},          {"uid", s.uid},        {"name", s.name},
          {"description", s.description}, {"created", s.created}, {"model", s.model},
          {"backend", s.backend}, {"device", s.device},  {"kvwb_version", s.kvwb_version},
          {"status", status_name(s.status)}, {"steps", s.steps}, {"dropped_items", s.dropped_items}};
}

int list(const SessionsArgs& a) {
  const std::string path = db_path(a);
  if (!std::filesystem::exists(path)) {
    if (a.json) std::puts("[]");
    else std::printf("no sessions (no database at %s yet)\n", path.c_str());
    return 0;
  }
  SessionStore store = open_store(a);
  const std::vector<SessionInfo> sessions = store.list();
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const SessionInfo& s : sessions) out.push_back(info_json(s));
    std::puts(out.dump(2).c_str());
    return 0;
  }
  std::printf("%s", fmt::format("{:>4}  {:<28} {:<20} {:<12} {:<11} {:>6}  {}\n", "id", "name", "created", "policy",
                                "status", "steps", "model").c_str());
  for (const SessionInfo& s : sessions) {
    std::printf("%s", fmt::format("{:>4}  {:<28} {:<20} {:<12} {:<11} {:>6}  {}\n", s.id, s.name, s.created,
                                  policy_name_of(s.config), status_name(s.status), s.steps, s.model).c_str());
  }
  return 0;
}

int show(const SessionsArgs& a) {
  SessionStore store = open_store(a);
  const SessionInfo info = store.info(a.id);
  const std::vector<ConfigChange> changes = store.config_changes(a.id);
  const nlohmann::json summary = store.summary(a.id);
  if (a.json) {
    nlohmann::json out = info_json(info);
    out["config"] = info.config;
    out["config_changes"] = nlohmann::json::array();
    for (const ConfigChange& c : changes) out["config_changes"].push_back({{"step", c.step}, {"config", c.config}});
    out["summary"] = summary;
    std::puts(out.dump(2).c_str());
    return 0;
  }
  std::string out = fmt::format("session #{}  {}\n", info.id, info.name);
  if (!info.description.empty()) out += fmt::format("  {}\n", info.description);
  out += fmt::format("status            {}\n", status_name(info.status));
  out += fmt::format("created           {}\n", info.created);
  out += fmt::format("model             {}\n", info.model);
  out += fmt::format("backend           {} ({})\n", info.backend, info.device);
  out += fmt::format("kvwb              {}\n", info.kvwb_version);
  out += fmt::format("steps recorded    {}\n", info.steps);
  if (info.dropped_items > 0) out += fmt::format("dropped items     {} (recorder queue full)\n", info.dropped_items);
  out += "\nconfig\n" + info.config.dump(2) + "\n";
  nlohmann::json previous = info.config;
  for (const ConfigChange& c : changes) {
    out += fmt::format("\nconfig change before step {}\n", c.step);
    for (const ConfigDifference& d : config_differences(previous, c.config)) {
      out += fmt::format("  {}: {} -> {}\n", d.key, d.a.dump(), d.b.dump());
    }
    previous = c.config;
  }
  if (summary.is_null()) {
    out += "\nno summary (the run did not finish)\n";
  } else {
    const RunSummary s = summary_from_json(summary);
    out += "\n" + format_summary(s);
    if (!s.tasks.empty()) out += "\n" + format_task_table(s);
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

Session comparable(SessionStore& store, int64_t id) {
  Session s;
  s.info = store.info(id);
  s.config_changes = store.config_changes(id);
  s.summary = store.summary(id);
  s.steps = store.steps(id);
  return s;
}

int compare(const SessionsArgs& a) {
  SessionStore store = open_store(a);
  const Session first = comparable(store, a.id);
  const Session second = comparable(store, a.other);
  std::fputs(format_comparison(compare_sessions(first, second)).c_str(), stdout);
  return 0;
}

int export_session(const SessionsArgs& a) {
  SessionStore store = open_store(a);
  store.export_session(a.id, a.file);
  std::printf("exported session #%lld to %s\n", static_cast<long long>(a.id), a.file.c_str());
  return 0;
}

int import_sessions(const SessionsArgs& a) {
  SessionStore store = SessionStore::open(db_path(a), sqlite::OpenMode::create);
  const ImportReport report = store.import_from(a.file);
  for (const ImportReport::Entry& e : report.imported) {
    std::printf("imported #%lld \"%s\" as #%lld\n", static_cast<long long>(e.source_id), e.name.c_str(),
                static_cast<long long>(e.new_id));
  }
  for (const ImportReport::Entry& e : report.skipped) {
    std::printf("skipped #%lld \"%s\": already present as #%lld\n", static_cast<long long>(e.source_id),
                e.name.c_str(), static_cast<long long>(e.existing_id));
  }
  return 0;
}

int remove(const SessionsArgs& a) {
  SessionStore store = open_store(a);
  const SessionInfo info = store.info(a.id);
  store.remove(a.id);
  std::printf("deleted session #%lld \"%s\"\n", static_cast<long long>(info.id), info.name.c_str());
  return 0;
}

int rename(const SessionsArgs& a) {
  SessionStore store = open_store(a);
  store.rename(a.id, a.name);
  return 0;
}

int annotate(const SessionsArgs& a) {
  SessionStore store = open_store(a);
  store.annotate(a.id, a.text);
  return 0;
}

}  // namespace

Command add_sessions_command(CLI::App& app) {
  auto args = std::make_shared<SessionsArgs>();
  CLI::App* sessions = app.add_subcommand("sessions", "Browse, compare, export and import recorded sessions");
  sessions->add_option("--db", args->db, "Session database (default: $XDG_DATA_HOME/kvwb/sessions.db)");
  sessions->require_subcommand(1);
  auto sub = [&](const char* name, const char* help) {
    CLI::App* s = sessions->add_subcommand(name, help);
    s->fallthrough();  // --db may follow the subcommand too
    return s;
  };
  CLI::App* list_cmd = sub("list", "List the sessions of the database");
  list_cmd->add_flag("--json", args->json, "As JSON");
  CLI::App* show_cmd = sub("show", "Print a session's config, config changes, summary and per-task table");
  show_cmd->add_option("session", args->id, "Session id")->required();
  show_cmd->add_flag("--json", args->json, "As JSON");
  CLI::App* compare_cmd = sub("compare", "Config differences and summary metrics of two sessions side by side");
  compare_cmd->add_option("a", args->id, "First session id")->required();
  compare_cmd->add_option("b", args->other, "Second session id")->required();
  CLI::App* export_cmd = sub("export", "Write one session to a new standalone .db file");
  export_cmd->add_option("session", args->id, "Session id")->required();
  export_cmd->add_option("file", args->file, "New .db file")->required();
  CLI::App* import_cmd = sub("import", "Add the sessions of another .db file (new ids; a session already here is skipped)");
  import_cmd->add_option("file", args->file, "Session .db file")->required();
  CLI::App* delete_cmd = sub("delete", "Delete a session");
  delete_cmd->add_option("session", args->id, "Session id")->required();
  CLI::App* rename_cmd = sub("rename", "Rename a session");
  rename_cmd->add_option("session", args->id, "Session id")->required();
  rename_cmd->add_option("name", args->name, "New name")->required();
  CLI::App* annotate_cmd = sub("annotate", "Set a session's description");
  annotate_cmd->add_option("session", args->id, "Session id")->required();
  annotate_cmd->add_option("text", args->text, "Description")->required();

  return {sessions, [=] {
            if (list_cmd->parsed()) return list(*args);
            if (show_cmd->parsed()) return show(*args);
            if (compare_cmd->parsed()) return compare(*args);
            if (export_cmd->parsed()) return export_session(*args);
            if (import_cmd->parsed()) return import_sessions(*args);
            if (delete_cmd->parsed()) return remove(*args);
            if (rename_cmd->parsed()) return rename(*args);
            return annotate(*args);
          }};
}

}  // namespace kvwb::cli
