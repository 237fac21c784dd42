// shared_position_scores by hand: the rows of one layer's heads ranked as one.
#include <gtest/gtest.h>

#include <vector>

#include "engine/runtime/policies/selection.h"
#include "engine/runtime/policies/span_eviction.h"

namespace kvwb {
namespace {

// Two heads after different compactions (head 1 lost position 2): each unprotected slot takes the
// best score its position has in either head; a protected slot (kKeep) stays protected and does
// not lift the position in the other head.
TEST(SpanEviction, TheHeadsOfALayerShareEachPositionsBestScore) {
  const std::vector<std::vector<int32_t>> positions{{0, 1, 2, 3}, {0, 1, 3}};
  std::vector<std::vector<float>> scores{{kKeep, 0.5f, 0.25f, 1.0f}, {0.75f, 2.0f, kKeep}};
  shared_position_scores(positions, scores);
  EXPECT_EQ(scores[0], (std::vector<float>{kKeep, 2.0f, 0.25f, 1.0f}));
  EXPECT_EQ(scores[1], (std::vector<float>{0.75f, 2.0f, kKeep}));
}

// One head alone keeps its scores.
TEST(SpanEviction, OneHeadIsItsOwnBest) {
  const std::vector<std::vector<int32_t>> positions{{3, 5, 9}};
  std::vector<std::vector<float>> scores{{0.1f, 0.3f, 0.2f}};
  shared_position_scores(positions, scores);
  EXPECT_EQ(scores[0], (std::vector<float>{0.1f, 0.3f, 0.2f}));
}

}  // namespace
}  // namespace kvwb
