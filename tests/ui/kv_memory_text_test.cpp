// The KV memory of a step in bytes and tokens both (status bar, memory plot tooltip): the tokens
// come from the step's kv_slots_used, and a session recorded before they were (schema 4) says
// bytes only.
#include <gtest/gtest.h>

#include "sessions/session_types.h"
#include "ui/controller/rate_window.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {
namespace {

TEST(KvMemoryText, SaysBytesAndTokens) {
  StepStats s;
  s.blocks_used = 40;
  s.blocks_total = 1000;
  s.kv_bytes_used = 40 * 65536;  // 2.5 MiB
  s.kv_slots_used = 634;
  RateWindow generated, total;
  const StepPoint p = step_point(s, generated, total);
  EXPECT_EQ(p.kv_slots_used, 634);
  EXPECT_EQ(kv_memory_text(p), "KV 40 / 1000 blocks (2.5 MiB, 634 tokens)");
}

TEST(KvMemoryText, AnOldSessionSaysBytesOnly) {
  StepPoint p;
  p.blocks_used = 2;
  p.blocks_total = 8;
  p.kv_bytes_used = 1024 * 1024;
  p.kv_slots_used = kSlotsNotRecorded;
  EXPECT_EQ(kv_memory_text(p), "KV 2 / 8 blocks (1.0 MiB)");
}

}  // namespace
}  // namespace kvwb
