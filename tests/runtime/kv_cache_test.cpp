#include "engine/runtime/kv_cache.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "engine/core/error.h"

namespace kvwb {
namespace {

KvCacheShape small_shape(int64_t blocks) {
  KvCacheShape s;
  s.num_layers = 2;
  s.num_kv_heads = 3;
  s.head_dim = 8;
  s.block_size = 4;
  s.num_blocks = blocks;
  return s;
}

TEST(KvCache, AppendTakesBlocksPerLayerAndHead) {
  auto backend = kernels::make_cpu_backend(1);
  KvCache cache(*backend, small_shape(100));
  const int32_t s = cache.add_sequence();
  // 6 tokens at block size 4 -> 2 blocks for each of 2 layers x 3 heads.
  EXPECT_EQ(cache.blocks_to_append(s, 6), 12);
  ASSERT_TRUE(cache.append(s, 6));
  EXPECT_EQ(cache.used_blocks(), 12);
  EXPECT_EQ(cache.length(s, 1, 2), 6);
  // 2 more tokens fit in the partial blocks.
  EXPECT_EQ(cache.blocks_to_append(s, 2), 0);
  ASSERT_TRUE(cache.append(s, 2));
  EXPECT_EQ(cache.used_blocks(), 12);
  EXPECT_EQ(cache.blocks_to_append(s, 1), 6);
}

TEST(KvCache, AppendFailsCleanlyWhenPoolIsExhausted) {
  auto backend = kernels::make_cpu_backend(1);
  KvCache cache(*backend, small_shape(10));
  const int32_t s = cache.add_sequence();
  EXPECT_FALSE(cache.append(s, 5));  // needs 12 blocks
  EXPECT_EQ(cache.used_blocks(), 0);
  EXPECT_EQ(cache.length(s, 0, 0), 0);
}

TEST(KvCache, SlotsAreUniqueAcrossSequencesHeadsAndLayers) {
  auto backend = kernels::make_cpu_backend(1);
  KvCache cache(*backend, small_shape(64));
  const int32_t a = cache.add_sequence();
  const int32_t b = cache.add_sequence();
  ASSERT_TRUE(cache.append(a, 7));
  ASSERT_TRUE(cache.append(b, 5));
  std::set<int32_t> seen;
  for (int32_t s : {a, b}) {
    for (int64_t l = 0; l < 2; ++l) {
      for (int64_t h = 0; h < 3; ++h) {
        for (int64_t i = 0; i < cache.length(s, l, h); ++i) {
          EXPECT_TRUE(seen.insert(cache.slot(s, l, h, i)).second);
        }
      }
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(2 * 3 * (7 + 5)));
}

TEST(KvCache, FreeReturnsEveryBlockAndIdsAreReused) {
  auto backend = kernels::make_cpu_backend(1);
  KvCache cache(*backend, small_shape(64));
  std::mt19937 rng(7);
  std::vector<int32_t> live;
  for (int round = 0; round < 200; ++round) {
    if (live.empty() || rng() % 3 != 0) {
      const int32_t s = cache.add_sequence();
      if (cache.append(s, 1 + rng() % 9)) {
        live.push_back(s);
      } else {
        cache.free_sequence(s);
      }
    } else {
      const size_t i = rng() % live.size();
      cache.free_sequence(live[i]);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    }
    int64_t expected_used = 0;
    for (int32_t s : live) {
      for (int64_t l = 0; l < 2; ++l) {
        for (int64_t h = 0; h < 3; ++h) expected_used += static_cast<int64_t>(cache.block_table(s, l, h).size());
      }
    }
    ASSERT_EQ(cache.used_blocks(), expected_used);
    ASSERT_LE(cache.used_blocks(), cache.shape().num_blocks);
  }
  for (int32_t s : live) cache.free_sequence(s);
  EXPECT_EQ(cache.free_blocks(), 64);
}

TEST(KvCache, CsrListsBlocksOfEachSequenceAndHeadInOrder) {
  auto backend = kernels::make_cpu_backend(1);
  KvCache cache(*backend, small_shape(64));
  const int32_t a = cache.add_sequence();
  const int32_t b = cache.add_sequence();
  ASSERT_TRUE(cache.append(a, 9));
  ASSERT_TRUE(cache.append(b, 2));
  LayerCsr csr;
  const std::vector<int32_t> order{b, a};
  cache.build_csr(order, 1, csr);
  ASSERT_EQ(csr.indptr.size(), 7u);
  ASSERT_EQ(csr.lengths.size(), 6u);
  for (size_t i = 0; i < order.size(); ++i) {
    for (int64_t h = 0; h < 3; ++h) {
      const size_t r = i * 3 + static_cast<size_t>(h);
      EXPECT_EQ(csr.lengths[r], cache.length(order[i], 1, h));
      const auto& table = cache.block_table(order[i], 1, h);
      ASSERT_EQ(static_cast<size_t>(csr.indptr[r + 1] - csr.indptr[r]), table.size());
      for (size_t j = 0; j < table.size(); ++j) EXPECT_EQ(csr.indices[static_cast<size_t>(csr.indptr[r]) + j], table[j]);
    }
  }
}

TEST(KvCache, RejectsInvalidShapeAndUnknownSequence) {
  auto backend = kernels::make_cpu_backend(1);
  EXPECT_THROW(KvCache(*backend, small_shape(0)), Error);
  KvCache cache(*backend, small_shape(8));
  EXPECT_THROW(cache.free_sequence(3), Error);
  EXPECT_THROW(cache.length(5, 0, 0), Error);
}

}  // namespace
}  // namespace kvwb
