// Property tests of eviction + compaction on random patterns: retained positions stay sorted
// and unique, every retained KV keeps its data, and pool accounting stays exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "engine/core/error.h"
#include "engine/runtime/kv_cache.h"

namespace kvwb {
namespace {

constexpr int64_t kHeadDim = 4;

// A key row that identifies (seq, layer, head, position) uniquely.
float key_value(int32_t seq, int64_t layer, int64_t head, int32_t pos, int64_t d) {
  return static_cast<float>(seq * 1000000 + layer * 100000 + head * 10000 + pos) + 0.125f * static_cast<float>(d);
}

// Appends n tokens at positions [start, start + n) to every (layer, head) of seq.
void append_tokens(kernels::Backend& backend, KvCache& cache, int32_t seq, int32_t start, int64_t n) {
  const KvCacheShape& s = cache.shape();
  ASSERT_TRUE(cache.append(seq, n));
  for (int64_t layer = 0; layer < s.num_layers; ++layer) {
    std::vector<float> k(static_cast<size_t>(n * s.num_kv_heads * kHeadDim));
    std::vector<int32_t> slots(static_cast<size_t>(n * s.num_kv_heads)), pos(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      pos[static_cast<size_t>(t)] = start + static_cast<int32_t>(t);
      for (int64_t h = 0; h < s.num_kv_heads; ++h) {
        const int64_t index = cache.length(seq, layer, h) - n + t;
        slots[static_cast<size_t>(t * s.num_kv_heads + h)] = cache.slot(seq, layer, h, index);
        for (int64_t d = 0; d < kHeadDim; ++d) {
          k[static_cast<size_t>((t * s.num_kv_heads + h) * kHeadDim + d)] = key_value(seq, layer, h, pos[static_cast<size_t>(t)], d);
        }
      }
    }
    kernels::PagedKv kv = cache.pool_view();
    backend.kv_write(kv, k.data(), k.data(), n, slots.data(), pos.data());
  }
}

TEST(KvCompaction, RandomEvictionsKeepDataOrderAndAccounting) {
  auto backend = kernels::make_cpu_backend(1);
  KvCacheShape shape;
  shape.num_layers = 2;
  shape.num_kv_heads = 2;
  shape.head_dim = kHeadDim;
  shape.block_size = 4;
  shape.num_blocks = 256;
  KvCache cache(*backend, shape);
  std::mt19937 rng(42);
  // expected[(seq, layer, head)] = retained positions
  std::map<std::tuple<int32_t, int64_t, int64_t>, std::set<int32_t>> expected;
  std::map<int32_t, int32_t> next_pos;
  std::vector<int32_t> seqs{cache.add_sequence(), cache.add_sequence(), cache.add_sequence()};
  for (int round = 0; round < 300; ++round) {
    const int32_t seq = seqs[rng() % seqs.size()];
    const int64_t layer = rng() % 2, head = rng() % 2;
    const int64_t len = cache.length(seq, layer, head);
    if (len < 3 || rng() % 2 == 0) {
      const int64_t n = 1 + rng() % 7;
      if (cache.blocks_to_append(seq, n) > cache.free_blocks()) continue;
      append_tokens(*backend, cache, seq, next_pos[seq], n);
      for (int64_t l = 0; l < 2; ++l) {
        for (int64_t h = 0; h < 2; ++h) {
          for (int64_t t = 0; t < n; ++t) expected[{seq, l, h}].insert(next_pos[seq] + static_cast<int32_t>(t));
        }
      }
      next_pos[seq] += static_cast<int32_t>(n);
    } else {
      std::vector<int64_t> indices;
      for (int64_t i = 0; i < len; ++i) {
        if (rng() % 3 == 0) indices.push_back(i);
      }
      std::shuffle(indices.begin(), indices.end(), rng);
      const std::vector<int32_t> before = cache.positions(seq, layer, head);
      const int64_t used_before = cache.used_blocks();
      const int64_t freed = cache.evict(seq, layer, head, indices);
      for (int64_t i : indices) expected[{seq, layer, head}].erase(before[static_cast<size_t>(i)]);
      EXPECT_EQ(cache.used_blocks(), used_before - freed);
    }
    // Invariants over every head of every sequence.
    int64_t blocks = 0;
    for (int32_t s : seqs) {
      for (int64_t l = 0; l < 2; ++l) {
        for (int64_t h = 0; h < 2; ++h) {
          const std::vector<int32_t> pos = cache.positions(s, l, h);
          const std::set<int32_t>& want = expected[{s, l, h}];
          ASSERT_EQ(pos.size(), want.size());
          ASSERT_TRUE(std::equal(pos.begin(), pos.end(), want.begin())) << "positions sorted, unique, exact";
          const std::vector<float> keys = cache.keys(s, l, h);
          for (size_t i = 0; i < pos.size(); ++i) {
            for (int64_t d = 0; d < kHeadDim; ++d) {
              ASSERT_EQ(keys[i * kHeadDim + static_cast<size_t>(d)], key_value(s, l, h, pos[i], d));
            }
          }
          const int64_t table_blocks = static_cast<int64_t>(cache.block_table(s, l, h).size());
          EXPECT_EQ(table_blocks, (cache.length(s, l, h) + shape.block_size - 1) / shape.block_size);
          blocks += table_blocks;
        }
      }
    }
    ASSERT_EQ(cache.used_blocks(), blocks);
  }
}

TEST(KvCompaction, EvictRejectsBadIndices) {
  auto backend = kernels::make_cpu_backend(1);
  KvCacheShape shape{1, 1, kHeadDim, 4, 8};
  KvCache cache(*backend, shape);
  const int32_t s = cache.add_sequence();
  append_tokens(*backend, cache, s, 0, 5);
  const std::vector<int64_t> out_of_range{5};
  EXPECT_THROW(cache.evict(s, 0, 0, out_of_range), Error);
  const std::vector<int64_t> twice{1, 1};
  EXPECT_THROW(cache.evict(s, 0, 0, twice), Error);
  EXPECT_EQ(cache.length(s, 0, 0), 5);
}

// Evicting many rows at once (one backend call) leaves the same cache as evicting them one by
// one, and a bad index in any row leaves every row as it was.
TEST(KvCompaction, EvictRowsEqualsRowByRowAndChecksEveryRowFirst) {
  auto backend = kernels::make_cpu_backend(1);
  KvCacheShape shape{2, 2, kHeadDim, 4, 64};
  KvCache together(*backend, shape), one_by_one(*backend, shape);
  const int32_t a = together.add_sequence(), b = one_by_one.add_sequence();
  append_tokens(*backend, together, a, 0, 11);
  append_tokens(*backend, one_by_one, b, 0, 11);
  const std::vector<std::vector<int64_t>> victims{{0, 5, 6}, {}, {10, 1, 2, 3, 4}, {7}};
  int64_t freed = 0;
  for (size_t r = 0; r < victims.size(); ++r) {
    if (!victims[r].empty()) freed += one_by_one.evict(b, static_cast<int64_t>(r) / 2, static_cast<int64_t>(r) % 2, victims[r]);
  }
  EXPECT_EQ(together.evict_rows(a, victims), freed);
  EXPECT_EQ(together.used_blocks(), one_by_one.used_blocks());
  for (int64_t layer = 0; layer < 2; ++layer) {
    for (int64_t head = 0; head < 2; ++head) {
      EXPECT_EQ(together.positions(a, layer, head), one_by_one.positions(b, layer, head)) << layer << "," << head;
      EXPECT_EQ(together.keys(a, layer, head), one_by_one.keys(b, layer, head)) << layer << "," << head;
    }
  }
  const std::vector<std::vector<int64_t>> bad{{0}, {1}, {2}, {99}};
  const int64_t used = together.used_blocks();
  EXPECT_THROW(together.evict_rows(a, bad), Error);
  EXPECT_EQ(together.used_blocks(), used);
  EXPECT_EQ(together.length(a, 0, 0), 8);
  EXPECT_EQ(together.length(a, 0, 1), 11);
}

TEST(KvCompaction, EvictingEverythingFreesAllBlocks) {
  auto backend = kernels::make_cpu_backend(1);
  KvCacheShape shape{1, 1, kHeadDim, 4, 8};
  KvCache cache(*backend, shape);
  const int32_t s = cache.add_sequence();
  append_tokens(*backend, cache, s, 0, 9);
  EXPECT_EQ(cache.used_blocks(), 3);
  const std::vector<int64_t> all{0, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(cache.evict(s, 0, 0, all), 3);
  EXPECT_EQ(cache.used_blocks(), 0);
}

}  // namespace
}  // namespace kvwb
