// Paged attention on the GPU against the CPU backend and the double-precision reference:
// GQA ratios 1/2/4/8, block sizes 16/32/128, head dims with and without 16-byte rows, ragged
// per-head lengths with evicted (sparse) positions, decode tokens and prefill chunks mixed in
// one batch, long rows that take the split-KV path, NaN-poisoned unused pool slots, and
// statistics for all, some or no queries. Tolerances: see attention_harness.h.
#include <gtest/gtest.h>

#include <tuple>

#include "attention_harness.h"

namespace kvwb::kernels {
namespace {

using test::check_scenario;
using test::ScenarioSpec;
using Observe = ScenarioSpec::Observe;

class CudaAttentionShapes : public ::testing::TestWithParam<std::tuple<int32_t, int32_t, int32_t>> {};

TEST_P(CudaAttentionShapes, MixedDecodeAndPrefillBatch) {
  KVWB_REQUIRE_CUDA();
  const auto [group, block_size, head_dim] = GetParam();
  ScenarioSpec spec;
  spec.kv_heads = group == 8 ? 1 : 2;
  spec.group = group;
  spec.head_dim = head_dim;
  spec.block_size = block_size;
  spec.seqs = {{300, 1, 0.7}, {45, 1, 0.5}, {190, 13, 0.8}, {1, 1, 1.0}, {260, 40, 0.6}};
  spec.observe = Observe::Alternate;
  spec.seed = static_cast<uint32_t>(group * 1000 + block_size * 10 + head_dim);
  std::string what = "G";  // appended piece by piece: g++ 12 warns (falsely) on "literal" + string
  what += std::to_string(group);
  what += " bs";
  what += std::to_string(block_size);
  what += " D";
  what += std::to_string(head_dim);
  check_scenario(spec, what);
}

INSTANTIATE_TEST_SUITE_P(GroupsBlocksDims, CudaAttentionShapes,
                         ::testing::Combine(::testing::Values(1, 2, 4, 8), ::testing::Values(16, 32, 128),
                                            ::testing::Values(35, 64, 128)),
                         [](const auto& info) {
                           std::string name = "G";
                           name += std::to_string(std::get<0>(info.param));
                           name += "_bs";
                           name += std::to_string(std::get<1>(info.param));
                           name += "_D";
                           name += std::to_string(std::get<2>(info.param));
                           return name;
                         });

TEST(CudaAttention, LongContextDecodeTakesTheSplitPathAndMergesExactly) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.kv_heads = 2;
  spec.group = 4;
  spec.head_dim = 128;
  spec.block_size = 16;
  spec.seqs = {{20000, 1, 0.9}, {3000, 1, 0.5}, {257, 1, 1.0}, {5000, 1, 0.3}};
  spec.observe = Observe::All;
  check_scenario(spec, "long decode");
}

TEST(CudaAttention, SingleSequenceDecodeWithShortRowLeavesMostSplitsEmpty) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.kv_heads = 8;
  spec.group = 4;
  spec.head_dim = 128;
  spec.block_size = 32;
  spec.seqs = {{70, 1, 0.8}};
  check_scenario(spec, "short decode");
}

TEST(CudaAttention, DecodeBatchOf64) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.kv_heads = 4;
  spec.group = 2;
  spec.head_dim = 64;
  spec.block_size = 16;
  for (int i = 0; i < 64; ++i) spec.seqs.push_back({20 + 37 * i, 1, 0.5 + (i % 5) * 0.1});
  spec.observe = Observe::Alternate;
  check_scenario(spec, "decode batch");
}

TEST(CudaAttention, PrefillChunkOver2kPrefixObservingTheLastQueries) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.kv_heads = 2;
  spec.group = 4;
  spec.head_dim = 128;
  spec.block_size = 16;
  spec.seqs = {{2128, 128, 0.6}};
  spec.observe = Observe::LastOfEachSequence;
  check_scenario(spec, "prefill chunk");
}

TEST(CudaAttention, WholePromptAsOneChunkObservingEveryQuery) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.kv_heads = 1;
  spec.group = 8;
  spec.head_dim = 64;
  spec.block_size = 128;
  spec.seqs = {{300, 300, 1.0}, {77, 77, 1.0}};
  spec.observe = Observe::All;
  check_scenario(spec, "full prompt");
}

TEST(CudaAttention, WithoutObserveTheStatisticsAreUntouched) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.seqs = {{500, 1, 0.7}, {120, 20, 0.9}};
  spec.observe = Observe::None;
  const test::PagedScenario s = test::make_scenario(spec);
  const test::AttentionResult gpu = test::run_on_cuda(s, false);
  for (size_t i = 0; i < s.att_sum.size(); ++i) {
    ASSERT_TRUE(test::same_or_both_nan(gpu.att_sum[i], s.att_sum[i])) << "slot " << i;
    ASSERT_TRUE(test::same_or_both_nan(gpu.att_sq[i], s.att_sq[i])) << "slot " << i;
    ASSERT_TRUE(test::same_or_both_nan(gpu.n_obs[i], s.n_obs[i])) << "slot " << i;
  }
  check_scenario(spec, "no observe");
}

TEST(CudaAttention, GroupOf32QueryHeadsAndHugeHeadDimStillWork) {
  KVWB_REQUIRE_CUDA();
  ScenarioSpec spec;
  spec.kv_heads = 1;
  spec.group = 32;  // more heads than one CTA keeps at head_dim 256: split into head chunks
  spec.head_dim = 256;
  spec.block_size = 16;
  spec.seqs = {{600, 1, 0.8}, {90, 9, 1.0}};
  check_scenario(spec, "G32 D256");
}

// Tables that contradict the pool are reported as errors, and nothing is read out of bounds.
class CudaAttentionErrors : public ::testing::Test {
 protected:
  void expect_error(test::PagedScenario s, const std::string& message) {
    try {
      test::run_on_cuda(s, true);
      FAIL() << "no exception, expected: " << message;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
    test::cuda_backend().synchronize();  // cleared: the backend keeps working
  }
  test::PagedScenario base() {
    ScenarioSpec spec;
    spec.kv_heads = 1;
    spec.group = 2;
    spec.block_size = 16;
    spec.seqs = {{40, 1, 1.0}};
    return test::make_scenario(spec);
  }
};

TEST_F(CudaAttentionErrors, BlockIdOutsideThePool) {
  KVWB_REQUIRE_CUDA();
  test::PagedScenario s = base();
  s.indices[1] = s.num_blocks + 100;
  expect_error(s, "paged_attention: block id " + std::to_string(s.num_blocks + 100) + " of row 0 is outside the pool of " +
                      std::to_string(s.num_blocks) + " blocks");
}

TEST_F(CudaAttentionErrors, LengthLongerThanTheBlocks) {
  KVWB_REQUIRE_CUDA();
  test::PagedScenario s = base();
  s.lengths[0] = 49;  // 3 blocks of 16
  expect_error(s, "paged_attention: row 0 has length 49 but its blocks hold 48 slots");
}

TEST_F(CudaAttentionErrors, SequenceRowBeyondTheTables) {
  KVWB_REQUIRE_CUDA();
  test::PagedScenario s = base();
  s.token_seq[0] = 5;
  expect_error(s, "paged_attention: token 0 has sequence row 5, outside the block tables (room for 1 sequences)");
}

TEST_F(CudaAttentionErrors, QueryHeadsNotAMultipleOfKvHeads) {
  KVWB_REQUIRE_CUDA();
  test::PagedScenario s = base();
  s.num_heads = 3;
  s.num_kv_heads = 2;
  expect_error(s, "paged_attention: 3 query heads are not a multiple of 2 KV heads");
}

}  // namespace
}  // namespace kvwb::kernels
