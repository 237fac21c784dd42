// The Live tab's eviction view opens on a sequence that is still running.
#include <gtest/gtest.h>

#include "tests/ui/ui_test_util.h"
#include "ui/widgets/live_eviction_view.h"

namespace kvwb {
namespace {

RetentionSnapshot snapshot(int64_t step, std::initializer_list<const char*> ids) {
  RetentionSnapshot s{.step = step, .heads = {}};
  for (const char* id : ids) s.heads.push_back(HeadRetention{id, 0, 0, 2, {0, 1}});
  return s;
}

// "a" was seen first but has finished by the newest snapshot, and "z" there is not traced (no
// positions): opening shows "b", which runs; a chosen sequence that still runs stays chosen.
TEST(LiveEvictionView, OpensOnASequenceOfTheNewestSnapshot) {
  ui_test::app();
  LiveEvictionView view;
  const ProtectedSpan protection{.sinks = 1, .recent = 1};
  view.add_snapshot(snapshot(1, {"a"}), protection);
  view.add_snapshot(snapshot(2, {"a", "b", "c"}), protection);
  RetentionSnapshot newest = snapshot(3, {"b", "c"});
  newest.heads.insert(newest.heads.begin(), HeadRetention{"z", 0, 0, 2, {}});
  view.add_snapshot(newest, protection);
  EXPECT_EQ(view.sequence(), "a");  // the first seen, before any open
  view.open(0, 0);
  EXPECT_EQ(view.sequence(), "b");
  EXPECT_EQ(view.drawn().steps.size(), 3u);
  view.set_sequence("c");
  view.open(0, 0);
  EXPECT_EQ(view.sequence(), "c");
}

}  // namespace
}  // namespace kvwb
