#include "engine/config/run_config.h"

#include <cmath>
#include <fstream>

#include "engine/core/error.h"
#include "engine/config/run_config_schema.h"
#include "engine/core/json_file.h"

namespace kvwb {
namespace {

// The JSON objects that group fields ("policy": {...}); every other key is a field of its own.
bool is_group(std::string_view key) {
  for (const ConfigField& f : config_fields()) {
    if (f.group() == key) return true;
  }
  return false;
}

// Reads the keys of one JSON object (the top level, or a group such as "policy").
void read_object(const Json& obj, std::string_view group, RunConfig& c, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (group.empty() && key == "schema_version") continue;
    if (group.empty() && is_group(key)) continue;
    const std::string path = group.empty() ? key : std::string(group) + "." + key;
    const ConfigField* f = find_config_field(path);
    if (f == nullptr) fail(where, "unknown key '{}'", key);
    f->read(value, c, where, key.c_str());
  }
}

}  // namespace

int64_t parse_bytes(const std::string& text, const std::string& key) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail(key, "'{}' is not a size (examples: 64MiB, 2GiB, 1000000)", text);
  }
  std::string unit = text.substr(used);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB" || unit == "K") scale = 1024.0;
  else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else fail(key, "unknown size unit '{}' in '{}' (use B, KiB, MiB, GiB, KB, MB, GB)", unit, text);
  const double bytes = value * scale;
  if (!(bytes > 0) || bytes > 9.0e18) fail(key, "size '{}' must be positive", text);
  return static_cast<int64_t>(std::llround(bytes));
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{}{}", static_cast<int64_t>(std::round(v)), units[u]);
  return fmt::format("{:.2f}{}", v, units[u]);
}

RunConfig run_config_from_json(const Json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "a run config must be a JSON object");
  RunConfig c;
  c.schema_version = json_optional<int>(j, "schema_version", c.schema_version, where);
  if (c.schema_version > kRunConfigSchemaVersion) {
    fail(where, "schema_version {} is newer than this kvwb understands ({})", c.schema_version, kRunConfigSchemaVersion);
  }
  if (c.schema_version < 1) fail(where, "schema_version: must be at least 1, got {}", c.schema_version);
  // Version 1 had one KV dtype, f32, and did not always write it; versions 1 and 2 stored
  // quantized KV unrotated: what they ran stays what they run.
  if (c.schema_version == 1) c.kv_dtype = "f32";
  if (c.schema_version <= 2) c.kv_rotation = "none";
  read_object(j, "", c, where);
  c.schema_version = kRunConfigSchemaVersion;  // read into the current schema, written as such
  for (const auto& [key, value] : j.items()) {
    if (!is_group(key)) continue;
    const std::string group_where = where + ": " + key;
    if (key == "policy" && value.is_string()) {  // "policy": "batch-max" is shorthand for {"name": "batch-max"}
      c.policy.name = value.get<std::string>();
      continue;
    }
    if (!value.is_object()) fail(group_where, "expected an object{}", key == "policy" ? " or a policy name" : "");
    read_object(value, key, c, group_where);
  }
  validate(c, where);
  return c;
}

Json run_config_to_json(const RunConfig& c) {
  Json j = {{"schema_version", c.schema_version}};
  for (const ConfigField& f : config_fields()) {
    Json v = f.write(c);
    if (v.is_discarded()) continue;
    if (f.group().empty()) j[std::string(f.key)] = std::move(v);
    else j[std::string(f.group())][std::string(f.leaf())] = std::move(v);
  }
  return j;
}

RunConfig load_run_config(const std::string& path) { return run_config_from_json(read_json_file(path), path); }

void save_run_config(const RunConfig& config, const std::string& path) {
  std::ofstream out(path);
  if (!out) fail(path, "cannot write the config file");
  out << run_config_to_json(config).dump(2) << "\n";
  if (!out) fail(path, "write failed");
}

void validate(const RunConfig& c, const std::string& w) {
  for (const ConfigField& f : config_fields()) {
    const std::string problem = config_field_problem(c, f);
    if (!problem.empty()) fail(w, "{}: {}", f.key, problem);
  }
  if (c.policy.budget_tokens && c.policy.budget_ratio) fail(w, "policy: give budget_tokens or budget_ratio, not both");
}

}  // namespace kvwb
