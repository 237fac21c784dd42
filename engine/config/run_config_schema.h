#pragma once
// The RunConfig schema: one row per field, the only place a field is listed. The JSON reader
// and writer, unknown-key errors, range checks, the command-line flags of kvwb-cli and kvwb,
// the live-change rule, the GUI's knobs and the change descriptions all walk this table
// (docs/architecture.md, "Run config"). A new field is one row in run_config_schema.cpp.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/run_config.h"
#include "engine/core/json_file.h"

namespace kvwb {

// When a changed value takes effect in a running run.
enum class Applies {
  live,        // between two steps (policy knobs, scheduler limits, sampling)
  next_start,  // it defines the run (model, cache layout, pool, workload): the next Start takes it
};

// Bounds of a numeric field; the message comes from the bounds ("must be in (0, 1]").
struct Range {
  double lo = -1e308, hi = 1e308;
  bool lo_open = false, hi_open = false;
};

struct ConfigField {
  std::string_view key;        // JSON path: "block_size", "policy.window" (inside the "policy" object)
  std::string_view flag;       // command-line flag without dashes ("kv-pool"); empty: none
  char short_flag = 0;         // kvwb-cli's one-letter alias, 0: none
  std::string_view value_name; // INT, FLOAT, SIZE, TEXT, BOOL, LIST (for --help)
  std::string_view unit;       // "tokens", "bytes", "": shown beside the value
  std::string_view help;
  Applies applies = Applies::live;
  std::optional<Range> range;  // numeric fields
  std::span<const std::string_view> (*choices)() = nullptr;  // string fields with a closed set
  // Extra rule beyond range and choices: the problem, or "" when the value is fine.
  std::string (*rule)(const RunConfig&) = nullptr;
  // Reads the JSON value (null included) into the config; errors name `where` and the key.
  void (*read)(const Json& value, RunConfig& c, const std::string& where, const char* leaf) = nullptr;
  // The JSON value of the field; a discarded value (Json::value_t::discarded) leaves the key out.
  Json (*write)(const RunConfig& c) = nullptr;
  // Parses a flag's text into the config; errors name `flag`.
  void (*parse)(const std::string& text, RunConfig& c, const std::string& flag) = nullptr;
  // Puts the field back to its default (RunConfig{}'s value).
  void (*reset)(RunConfig& c) = nullptr;
  // Copies the field's value from one config to another.
  void (*copy)(const RunConfig& from, RunConfig& to) = nullptr;
  // A field that setting this one by flag clears ("policy.budget_ratio" for budget_tokens).
  std::string_view clears;

  // "window" for "policy.window": the key inside its JSON object.
  std::string_view leaf() const;
  // "policy" for "policy.window", "" for a top-level key.
  std::string_view group() const;
};

std::span<const ConfigField> config_fields();
const ConfigField* find_config_field(std::string_view key);
const ConfigField& config_field(std::string_view key);  // throws for a key not in the table

// Sets a field from a flag's text (kvwb-cli and kvwb share this), clearing what it replaces.
void set_config_field(RunConfig& c, const ConfigField& field, const std::string& text, const std::string& flag);

// The field's problem in `c` ("must be in [1, 1024]"), or "" when it is fine.
std::string config_field_problem(const RunConfig& c, const ConfigField& field);

// The keys whose values differ between a and b, in table order.
std::vector<const ConfigField*> changed_fields(const RunConfig& a, const RunConfig& b);

// A requested change to a running run: `applied` is `running` with every live field taken from
// `requested`; `deferred` lists the fields that differ but take effect at the next start.
struct LiveChange {
  RunConfig applied;
  std::vector<const ConfigField*> deferred;
};
LiveChange apply_live_changes(const RunConfig& running, const RunConfig& requested);

}  // namespace kvwb
