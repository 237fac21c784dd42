// The retention and eviction-map blobs: byte layouts checked against hand-encoded examples,
// round trips, and every truncation or corruption giving an Error that names the blob.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/core/error.h"
#include "sessions/blob_format.h"
#include "session_test_util.h"

namespace kvwb {
namespace {

std::vector<HeadRetention> hand_retention() {
  HeadRetention a;
  a.request_id = "a";
  a.layer = 0;
  a.head = 1;
  a.length = 3;
  a.positions = {0, 5, 300};
  HeadRetention b;
  b.request_id = "b";
  b.layer = 1;
  b.head = 0;
  b.length = 0;
  return {a, b};
}

// Encoded by hand from the format in blob_format.h.
const std::vector<uint8_t> kHandRetention = {
    0x01,                          // format
    0x02, 0x01, 'a', 0x01, 'b',    // two request ids
    0x02,                          // two entries
    0x00, 0x00, 0x01, 0x03, 0x03,  // request 0, layer 0, head 1, length 3, 3 positions
    0x00, 0x05, 0xA7, 0x02,        // deltas 0, 5, 295 (= 0x27 | 0x80, 0x02)
    0x01, 0x01, 0x00, 0x00, 0x00,  // request 1, layer 1, head 0, length 0, no positions
};

EvictionMap hand_map() {
  EvictionMap m;
  m.request_id = "r";
  m.step = 7;
  m.context_length = 2;
  HeadEvictions h;
  h.layer = 2;
  h.head = 3;
  h.evicted_at_step = {-1, 4};
  h.scores = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  m.heads.push_back(h);
  return m;
}

const std::vector<uint8_t> kHandMap = {
    0x01,                    // format
    0x01, 'r',               // request id
    0x07,                    // step
    0x02,                    // context length
    0x01,                    // one head
    0x02, 0x03,              // layer 2, head 3
    0x00, 0x05,              // kept, evicted at step 4 (stored + 1)
    0x00, 0x00, 0x80, 0x3F,  // 1.0f
    0x00, 0x00, 0xC0, 0x7F,  // quiet NaN
};

TEST(RetentionBlob, MatchesTheHandEncodedLayout) {
  EXPECT_EQ(encode_retention(hand_retention()), kHandRetention);
}

TEST(RetentionBlob, DecodesTheHandEncodedLayout) {
  const std::vector<HeadRetention> heads = decode_retention(kHandRetention, "blob");
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].request_id, "a");
  EXPECT_EQ(heads[0].head, 1);
  EXPECT_EQ(heads[0].length, 3);
  EXPECT_EQ(heads[0].positions, (std::vector<int32_t>{0, 5, 300}));
  EXPECT_EQ(heads[1].request_id, "b");
  EXPECT_EQ(heads[1].layer, 1);
  EXPECT_TRUE(heads[1].positions.empty());
}

TEST(RetentionBlob, RoundTripsLargerSnapshots) {
  const std::vector<HeadRetention> in = testing_util::sample_retention(500);
  const std::vector<uint8_t> blob = encode_retention(in);
  const std::vector<HeadRetention> out = decode_retention(blob, "blob");
  ASSERT_EQ(out.size(), in.size());
  size_t positions = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].request_id, in[i].request_id);
    EXPECT_EQ(out[i].layer, in[i].layer);
    EXPECT_EQ(out[i].head, in[i].head);
    EXPECT_EQ(out[i].length, in[i].length);
    EXPECT_EQ(out[i].positions, in[i].positions);
    positions += in[i].positions.size();
  }
  // Delta varints: small gaps take one byte each, far less than 4 bytes per position.
  EXPECT_LT(blob.size(), positions + 200);
}

TEST(RetentionBlob, RefusesUnsortedPositions) {
  std::vector<HeadRetention> heads = hand_retention();
  heads[0].positions = {5, 5};
  EXPECT_THROW(encode_retention(heads), Error);
}

TEST(RetentionBlob, EveryTruncationIsAnErrorNamingTheBlob) {
  for (size_t n = 0; n < kHandRetention.size(); ++n) {
    const std::span<const uint8_t> cut(kHandRetention.data(), n);
    try {
      decode_retention(cut, "db: session 1 retention at step 3");
      ADD_FAILURE() << "a blob cut to " << n << " bytes decoded";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("db: session 1 retention at step 3: ", 0), 0u) << e.what();
    }
  }
}

TEST(RetentionBlob, CorruptHeadersAreErrorsNotCrashes) {
  std::vector<uint8_t> bad = kHandRetention;
  bad[0] = 9;
  EXPECT_THROW(
      {
        try {
          decode_retention(bad, "blob");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("format 9"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  // A count of ~2^62 entries must not allocate: it is bounded by the bytes left.
  const std::vector<uint8_t> huge = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F};
  EXPECT_THROW(decode_retention(huge, "blob"), Error);
  bad = kHandRetention;
  bad[7] = 0x05;  // request index 5 of 2
  EXPECT_THROW(decode_retention(bad, "blob"), Error);
  bad = kHandRetention;
  bad.push_back(0);  // trailing garbage
  EXPECT_THROW(decode_retention(bad, "blob"), Error);
}

TEST(CountsBlob, MatchesTheHandEncodedLayoutAndRoundTrips) {
  const std::vector<uint8_t> hand = {0x01, 0x03, 0x00, 0x03, 0xAC, 0x02};  // format, 3 values: 0, 3, 300
  EXPECT_EQ(encode_counts({0, 3, 300}), hand);
  EXPECT_EQ(decode_counts(hand, "blob"), (std::vector<int64_t>{0, 3, 300}));
  EXPECT_TRUE(decode_counts(encode_counts({}), "blob").empty());
  EXPECT_THROW(encode_counts({-1}), Error);
  for (size_t n = 0; n < hand.size(); ++n) {
    EXPECT_THROW(decode_counts(std::span<const uint8_t>(hand.data(), n), "blob"), Error) << n;
  }
}

TEST(EvictionMapBlob, MatchesTheHandEncodedLayout) { EXPECT_EQ(encode_eviction_map(hand_map()), kHandMap); }

TEST(EvictionMapBlob, DecodesTheHandEncodedLayout) {
  const EvictionMap m = decode_eviction_map(kHandMap, "blob");
  EXPECT_EQ(m.request_id, "r");
  EXPECT_EQ(m.step, 7);
  EXPECT_EQ(m.context_length, 2);
  ASSERT_EQ(m.heads.size(), 1u);
  EXPECT_EQ(m.heads[0].layer, 2);
  EXPECT_EQ(m.heads[0].head, 3);
  EXPECT_EQ(m.heads[0].evicted_at_step, (std::vector<int32_t>{-1, 4}));
  EXPECT_EQ(m.heads[0].scores[0], 1.0f);
  EXPECT_TRUE(std::isnan(m.heads[0].scores[1]));
}

TEST(EvictionMapBlob, RefusesMismatchedLengthsAndCutBlobs) {
  EvictionMap m = hand_map();
  m.heads[0].scores.pop_back();
  EXPECT_THROW(encode_eviction_map(m), Error);
  m = hand_map();
  m.heads[0].evicted_at_step[0] = -2;
  EXPECT_THROW(encode_eviction_map(m), Error);
  for (size_t n = 0; n < kHandMap.size(); ++n) {
    EXPECT_THROW(decode_eviction_map(std::span<const uint8_t>(kHandMap.data(), n), "blob"), Error) << n;
  }
}

}  // namespace
}  // namespace kvwb
