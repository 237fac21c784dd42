#pragma once
// Internal invariants: conditions that hold unless kvwb itself has a bug (bad input is an Error,
// never an invariant). Debug builds (no NDEBUG) and sanitizer builds (KVWB_CHECK_INVARIANTS,
// cmake/KvwbSanitizers.cmake) check them at every step; release builds compile the checks out.
// A broken invariant prints what broke and aborts, so sanitizer builds show the stack.
#include <cstdint>
#include <string_view>

#if !defined(NDEBUG) || defined(KVWB_CHECK_INVARIANTS)
#define KVWB_INVARIANTS_CHECKED 1
#else
#define KVWB_INVARIANTS_CHECKED 0
#endif

namespace kvwb {

inline constexpr bool kInvariantsChecked = KVWB_INVARIANTS_CHECKED != 0;

// Prints "kvwb: invariant broken: <what>" to stderr and aborts.
[[noreturn]] void invariant_broken(std::string_view what);

// The KV budget invariant (docs/architecture.md, "Invariants"): the cache never holds more blocks than the budget.
// Always compiled (tests call it directly); the engine calls it only where invariants are checked.
void check_kv_budget(int64_t blocks_used, int64_t block_limit, int64_t step, std::string_view when);

}  // namespace kvwb
