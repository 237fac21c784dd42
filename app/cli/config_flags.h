#pragma once
// Command-line flags that mirror RunConfig keys (--kv-pool 64MiB, --policy batch-max, ...).
// Flags given on the command line override the values of --config FILE.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config/run_config.h"

namespace kvwb::cli {

struct ConfigFlags {
  std::string config_path;
  std::optional<std::string> model, random_weights, weights_dtype, backend, workload, kv_pool, policy, budget_scope, metric, record;
  std::optional<int64_t> budget_tokens, block_size, prefill_chunk, max_batch, max_tokens_per_step, window, sinks,
      protected_recent, decode_interval, max_requests, pool_kernel;
  std::optional<double> budget_ratio, temperature, top_p, min_head_fraction, pyramid_beta;
  std::optional<bool> chunked_prefill;
  std::optional<std::vector<std::string>> trace_sequences;
  std::optional<uint64_t> seed;
  std::optional<int> threads;

  // `sweep`: leave out the flags a sweep varies or owns itself (--policy, --budget-tokens,
  // --budget-ratio, --record): kvwb-cli sweep has list-valued flags and --db instead.
  void add_to(CLI::App& app, bool sweep = false);
  // The config file (or defaults) with every given flag applied, validated.
  RunConfig resolve() const;
};

}  // namespace kvwb::cli
