// Eviction scoring and selection on the GPU against the CPU backend (the reference of
// kernels/eviction.h). Both are exact: scores must be bit-identical and the kept indices
// identical, on random data built to have many ties, ragged per-row lengths, protected slots,
// GQA-like observation counts and block sizes 16/32/128. Last, whole policies evict the same
// positions from a cache on either backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/runtime/policy.h"
#include "engine/runtime/sequence.h"

namespace kvwb::kernels {
namespace {

using test::DeviceBuffer;

constexpr float inf = kKeepScore;

// Scores in rows of ragged lengths (some empty, some longer than a CTA's 256 threads many
// times), drawn mostly from a handful of values so ties are everywhere; ~10 % protected.
struct ScoreRows {
  std::vector<int32_t> offsets{0};
  std::vector<float> scores;
  int32_t rows() const { return static_cast<int32_t>(offsets.size()) - 1; }
  int32_t length(int32_t r) const { return offsets[static_cast<size_t>(r) + 1] - offsets[static_cast<size_t>(r)]; }
};

ScoreRows random_rows(int32_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  const float few[] = {0.0f, -0.0f, 0.125f, 0.25f, 0.5f, 1.0f, 1e-30f, 3.0f};
  ScoreRows s;
  for (int32_t r = 0; r < rows; ++r) {
    const int32_t n = r % 7 == 3 ? 0 : r % 5 == 1 ? static_cast<int32_t>(rng() % 3000) : static_cast<int32_t>(rng() % 300);
    for (int32_t i = 0; i < n; ++i) {
      const uint32_t u = rng() % 100;
      s.scores.push_back(u < 10 ? inf : u < 70 ? few[rng() % 8] : std::ldexp(static_cast<float>(rng() % 1000), -7));
    }
    s.offsets.push_back(static_cast<int32_t>(s.scores.size()));
  }
  return s;
}

// Each row's kept indices from `backend` (host arrays for the CPU, device buffers for CUDA).
std::vector<std::vector<int32_t>> cpu_select(const ScoreRows& s, const std::vector<int32_t>* keep, int32_t group,
                                             int64_t evict) {
  SlotSelection sel{s.rows(), s.offsets.data(), keep != nullptr ? keep->data() : nullptr, group, evict};
  std::vector<int32_t> retained(s.scores.size()), kept(static_cast<size_t>(s.rows()));
  test::cpu_backend().select_slots(s.scores.data(), sel, retained.data(), kept.data());
  std::vector<std::vector<int32_t>> out;
  for (int32_t r = 0; r < s.rows(); ++r) {
    const auto first = retained.begin() + s.offsets[static_cast<size_t>(r)];
    out.emplace_back(first, first + kept[static_cast<size_t>(r)]);
  }
  return out;
}

std::vector<std::vector<int32_t>> gpu_select(const ScoreRows& s, const std::vector<int32_t>* keep, int32_t group,
                                             int64_t evict) {
  const DeviceBuffer scores = DeviceBuffer::from(s.scores), offsets = DeviceBuffer::from(s.offsets);
  const DeviceBuffer dkeep = keep != nullptr ? DeviceBuffer::from(*keep) : DeviceBuffer();
  // Poisoned outputs: an index the kernel fails to write shows up as -7.
  const DeviceBuffer retained = DeviceBuffer::from(std::vector<int32_t>(std::max<size_t>(s.scores.size(), 1), -7));
  const DeviceBuffer kept = DeviceBuffer::from(std::vector<int32_t>(static_cast<size_t>(s.rows()), -7));
  SlotSelection sel{s.rows(), offsets.as<int32_t>(), keep != nullptr ? dkeep.as<int32_t>() : nullptr, group, evict};
  test::cuda_backend().select_slots(scores.as<float>(), sel, retained.as<int32_t>(), kept.as<int32_t>());
  const auto r_host = retained.to_host<int32_t>();
  const auto k_host = kept.to_host<int32_t>();
  std::vector<std::vector<int32_t>> out;
  for (int32_t r = 0; r < s.rows(); ++r) {
    const int32_t k = k_host[static_cast<size_t>(r)];
    if (k < 0 || k > s.length(r)) {
      ADD_FAILURE() << "row " << r << " kept " << k << " of " << s.length(r);
      out.emplace_back();
      continue;
    }
    const auto first = r_host.begin() + s.offsets[static_cast<size_t>(r)];
    out.emplace_back(first, first + k);
  }
  return out;
}

void expect_same_selection(const std::vector<std::vector<int32_t>>& gpu, const std::vector<std::vector<int32_t>>& cpu,
                           const ScoreRows& s, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  int64_t evicted = 0;
  for (size_t r = 0; r < cpu.size(); ++r) {
    EXPECT_EQ(gpu[r], cpu[r]) << what << ": row " << r << " (" << s.length(static_cast<int32_t>(r)) << " slots)";
    evicted += s.length(static_cast<int32_t>(r)) - static_cast<int64_t>(cpu[r].size());
  }
  EXPECT_GT(evicted, 0) << what << ": the case evicts nothing, so it checks nothing";
}

TEST(CudaEviction, PerRowSelectionMatchesTheCpuWithTiesAndProtectedSlots) {
  KVWB_REQUIRE_CUDA();
  for (uint32_t seed : {1u, 2u, 3u}) {
    const ScoreRows s = random_rows(40, seed);
    std::mt19937 rng(seed + 100);
    std::vector<int32_t> keep;  // from below zero to beyond the row's length
    for (int32_t r = 0; r < s.rows(); ++r) keep.push_back(static_cast<int32_t>(rng() % (s.length(r) + 5)) - 2);
    expect_same_selection(gpu_select(s, &keep, 16, 0), cpu_select(s, &keep, 16, 0), s,
                          "per-row keep, seed " + std::to_string(seed));
  }
}

TEST(CudaEviction, CrossRowGroupSelectionMatchesTheCpu) {
  KVWB_REQUIRE_CUDA();
  for (int32_t group : {16, 32, 128}) {
    for (uint32_t seed : {4u, 5u}) {
      const ScoreRows s = random_rows(48, seed);
      const int64_t total = static_cast<int64_t>(s.scores.size());
      for (int64_t evict : {int64_t{1}, total / 3, total}) {
        expect_same_selection(gpu_select(s, nullptr, group, evict), cpu_select(s, nullptr, group, evict), s,
                              "groups of " + std::to_string(group) + ", evict " + std::to_string(evict) + ", seed " +
                                  std::to_string(seed));
      }
    }
  }
}

// A pool with `rows` (layer, head) rows of ragged lengths in randomly placed blocks; unused
// slots are NaN so a read through a wrong block id changes the scores. Statistics are those a
// GQA group of `ratio` query heads leaves: n_obs a multiple of the ratio, sums within it.
struct RandomPool {
  int32_t block_size;
  std::vector<int32_t> pos, indptr{0}, indices, lengths, offsets{0};
  std::vector<float> sum, sq, nobs, kv;

  RandomPool(int32_t rows, int32_t bs, int32_t ratio, uint32_t seed) : block_size(bs) {
    std::mt19937 rng(seed);
    std::vector<int32_t> row_len;
    int32_t blocks = 0;
    for (int32_t r = 0; r < rows; ++r) {
      row_len.push_back(r % 6 == 2 ? 0 : static_cast<int32_t>(rng() % 700));
      blocks += (row_len.back() + bs - 1) / bs;
    }
    std::vector<int32_t> order(static_cast<size_t>(blocks) + 3);  // three blocks stay unused
    for (size_t b = 0; b < order.size(); ++b) order[b] = static_cast<int32_t>(b);
    std::shuffle(order.begin(), order.end(), rng);
    const size_t slots = order.size() * static_cast<size_t>(bs);
    const float nan = std::nanf("");
    pos.assign(slots, -1);
    sum.assign(slots, nan);
    sq.assign(slots, nan);
    nobs.assign(slots, nan);
    kv.assign(slots, 0.0f);
    size_t next = 0;
    for (int32_t r = 0; r < rows; ++r) {
      const int32_t n = row_len[static_cast<size_t>(r)];
      const int32_t first_block = static_cast<int32_t>(next);
      for (int32_t b = 0; b * bs < n; ++b) indices.push_back(order[next++]);
      indptr.push_back(static_cast<int32_t>(indices.size()));
      lengths.push_back(n);
      offsets.push_back(offsets.back() + n);
      int32_t p = 0;
      for (int32_t i = 0; i < n; ++i) {
        const size_t slot = static_cast<size_t>(indices[static_cast<size_t>(first_block + i / bs)]) * bs + i % bs;
        p += 1 + static_cast<int32_t>(rng() % 3);  // evicted positions leave gaps
        pos[slot] = p;
        const int32_t seen = static_cast<int32_t>(rng() % 5) * ratio;  // 0: never observed
        nobs[slot] = static_cast<float>(seen);
        sum[slot] = rng() % 4 == 0 ? 0.25f : std::ldexp(static_cast<float>(rng() % (64 * (seen + 1))), -6);
        sq[slot] = sum[slot] * sum[slot] * 0.5f;
      }
    }
  }
  PagedKv view(float* k, int32_t* p, float* s, float* q, float* o, const int32_t* ip, const int32_t* ix,
               const int32_t* ln) const {
    return PagedKv{1, 1, block_size, k, k, p, s, q, o, ip, ix, ln};
  }
};

TEST(CudaEviction, ScoresAreBitIdenticalToTheCpus) {
  KVWB_REQUIRE_CUDA();
  const ScoreKind kinds[] = {ScoreKind::Recency, ScoreKind::Average, ScoreKind::Sum,  ScoreKind::L1Sum,
                             ScoreKind::L1Avg,   ScoreKind::L2Sum,   ScoreKind::L2Avg};
  const std::pair<PoolKind, int32_t> pools[] = {{PoolKind::None, 1}, {PoolKind::Max, 5}, {PoolKind::Avg, 7}};
  uint32_t seed = 10;
  for (int32_t bs : {16, 32, 128}) {
    for (int32_t ratio : {1, 2, 4, 8}) {
      RandomPool host(2 * 4, bs, ratio, ++seed);  // 2 layers x 4 KV heads
      const DeviceBuffer dk = DeviceBuffer::from(host.kv), dpos = DeviceBuffer::from(host.pos),
                         dsum = DeviceBuffer::from(host.sum), dsq = DeviceBuffer::from(host.sq),
                         dnobs = DeviceBuffer::from(host.nobs), dip = DeviceBuffer::from(host.indptr),
                         dix = DeviceBuffer::from(host.indices), dln = DeviceBuffer::from(host.lengths),
                         doff = DeviceBuffer::from(host.offsets);
      const PagedKv cpu_kv = host.view(host.kv.data(), host.pos.data(), host.sum.data(), host.sq.data(),
                                       host.nobs.data(), host.indptr.data(), host.indices.data(), host.lengths.data());
      const PagedKv gpu_kv = host.view(dk.as<float>(), dpos.as<int32_t>(), dsum.as<float>(), dsq.as<float>(),
                                       dnobs.as<float>(), dip.as<int32_t>(), dix.as<int32_t>(), dln.as<int32_t>());
      const int32_t rows = static_cast<int32_t>(host.lengths.size());
      const size_t total = static_cast<size_t>(host.offsets.back());
      for (ScoreKind kind : kinds) {
        for (const auto& [pool, kernel] : pools) {
          SlotScoring s;
          s.kind = kind;
          s.pool = pool;
          s.pool_kernel = kernel;
          s.sinks = 4;
          s.recent = 40;
          s.context_length = 500;
          std::vector<float> ref(total);
          test::cpu_backend().score_slots(cpu_kv, rows, host.offsets.data(), s, ref.data());
          const DeviceBuffer out = DeviceBuffer::from(std::vector<float>(std::max<size_t>(total, 1), -7.0f));
          test::cuda_backend().score_slots(gpu_kv, rows, doff.as<int32_t>(), s, out.as<float>());
          const auto got = out.to_host<float>();
          for (size_t i = 0; i < total; ++i) {
            if (std::memcmp(&got[i], &ref[i], sizeof(float)) != 0) {
              ADD_FAILURE() << "block size " << bs << ", ratio " << ratio << ", kind " << static_cast<int>(kind)
                            << ", pool " << static_cast<int>(pool) << ": score " << i << " is " << got[i]
                            << ", the CPU's " << ref[i];
              break;
            }
          }
        }
      }
    }
  }
}

// Whole policies on a cache of each backend holding the same statistics: the retained
// positions of every (layer, head) must be the same.
KvCacheShape policy_shape(int64_t bs) { return KvCacheShape{3, 4, 8, bs, 3 * 4 * ((600 + bs - 1) / bs)}; }

std::vector<std::vector<int32_t>> retained_after(const PolicyConfig& config, Backend& backend, int64_t bs,
                                                 uint32_t seed) {
  const KvCacheShape shape = policy_shape(bs);
  KvCache cache(backend, shape);
  SequenceState seq;
  seq.id = "r";
  seq.prompt.assign(600, 7);
  seq.prefilled = 600;
  seq.phase = SequencePhase::Decode;
  seq.cache_seq = cache.add_sequence();
  EXPECT_TRUE(cache.append(seq.cache_seq, 600));
  // Same statistics on both backends: positions 0..599, random sums with ties.
  const size_t slots = static_cast<size_t>(shape.num_blocks * bs);
  std::vector<int32_t> pos(slots, 0);
  std::vector<float> sum(slots, 0.0f), sq(slots, 0.0f), nobs(slots, 0.0f);
  std::mt19937 rng(seed);
  for (int64_t l = 0; l < shape.num_layers; ++l) {
    for (int64_t h = 0; h < shape.num_kv_heads; ++h) {
      for (int64_t i = 0; i < 600; ++i) {
        const auto slot = static_cast<size_t>(cache.slot(seq.cache_seq, l, h, i));
        pos[slot] = static_cast<int32_t>(i);
        nobs[slot] = static_cast<float>(2 * (rng() % 4));
        sum[slot] = std::ldexp(static_cast<float>(rng() % 32), -5);
        sq[slot] = sum[slot] * sum[slot];
      }
    }
  }
  const PagedKv kv = cache.pool_view();
  backend.copy_from_host(kv.slot_pos, pos.data(), slots * sizeof(int32_t));
  backend.copy_from_host(kv.att_sum, sum.data(), slots * sizeof(float));
  backend.copy_from_host(kv.att_sq, sq.data(), slots * sizeof(float));
  backend.copy_from_host(kv.n_obs, nobs.data(), slots * sizeof(float));
  auto policy = make_policy(config);
  AppendContext context;
  policy->enforce_budget(seq, cache, context);
  std::vector<std::vector<int32_t>> out;
  for (int64_t l = 0; l < shape.num_layers; ++l) {
    for (int64_t h = 0; h < shape.num_kv_heads; ++h) out.push_back(cache.positions(seq.cache_seq, l, h));
  }
  return out;
}

TEST(CudaEviction, PoliciesRetainTheSamePositionsAsOnTheCpu) {
  KVWB_REQUIRE_CUDA();
  for (const std::string name : {"snapkv", "pyramidkv", "ada-kv", "kv-compress", "h2o"}) {
    for (int64_t bs : {16, 32, 128}) {
      PolicyConfig config;
      config.name = name;
      config.budget_tokens = 150;
      config.budget_scope = "head";
      const auto cpu = retained_after(config, test::cpu_backend(), bs, 77);
      const auto gpu = retained_after(config, test::cuda_backend(), bs, 77);
      EXPECT_EQ(gpu, cpu) << name << ", block size " << bs;
      EXPECT_LT(cpu.front().size(), 600u) << name << ": nothing was evicted, so nothing was compared";
    }
  }
}

}  // namespace
}  // namespace kvwb::kernels
