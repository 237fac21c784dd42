#pragma once
// Command-line flags that mirror RunConfig keys (--kv-pool 64MiB, --policy batch-max, ...), one
// per row of the RunConfig schema (engine/config/run_config_schema.h). Flags given on the
// command line override the values of --config FILE.
#include <CLI/CLI.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config/run_config.h"

namespace kvwb::cli {

class ConfigFlags {
 public:
  // `left_out`: schema keys a command owns itself (kvwb-cli sweep has list-valued --policies and
  // --budget-tokens and its own --db, so it leaves out policy.name, the budgets and record).
  void add_to(CLI::App& app, const std::set<std::string_view>& left_out = {});
  // The config file (or defaults) with every given flag applied, validated.
  RunConfig resolve() const;
  const std::string& config_path() const { return config_path_; }

 private:
  struct Given {
    std::string_view key;
    CLI::Option* option = nullptr;
    std::string text;
  };
  std::string config_path_;
  std::vector<Given> given_;  // one per flag, in schema order; stable after add_to
};

}  // namespace kvwb::cli
