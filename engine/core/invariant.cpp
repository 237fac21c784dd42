#include "engine/core/invariant.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace kvwb {

void invariant_broken(std::string_view what) {
  std::fprintf(stderr, "kvwb: invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

void check_kv_budget(int64_t blocks_used, int64_t block_limit, int64_t step, std::string_view when) {
  if (blocks_used > block_limit) {
    invariant_broken(fmt::format("step {} ({}): {} KV blocks in use, budget {}", step, when, blocks_used, block_limit));
  }
}

}  // namespace kvwb
