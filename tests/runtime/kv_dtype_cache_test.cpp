// The KV cache in each KV dtype: what a pool of bytes holds (slot metadata included), the
// one-line errors for a bad dtype, compaction carrying rounded rows unchanged, and an H2O
// eviction whose attention statistics come from q8_0 keys choosing the same positions as f32
// on a case whose scores are well separated.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/kv_cache.h"
#include "engine/runtime/policy.h"
#include "kernels/backend.h"
#include "kernels/kv_dtype.h"
#include "kernels/quant.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using kernels::DType;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(KvDtypeCache, BytesPerSlotCountRowsAndMetadata) {
  // head_dim 64: a K row and a V row in the dtype + 16 bytes of position and statistics.
  //   f32 2·256 + 16 = 528   f16/bf16 2·128 + 16 = 272   q8_0 2·(2·34) + 16 = 152
  //   q4_0 2·(2·18) + 16 = 88
  const std::map<DType, int64_t> per_slot{
      {DType::F32, 528}, {DType::F16, 272}, {DType::BF16, 272}, {DType::Q8_0, 152}, {DType::Q4_0, 88}};
  for (const auto& [dtype, bytes] : per_slot) {
    EXPECT_EQ(kv_bytes_per_slot(64, dtype), bytes) << kernels::kv_dtype_name(dtype);
    EXPECT_EQ(kv_bytes_per_block(64, 16, dtype), 16 * bytes) << kernels::kv_dtype_name(dtype);
  }
}

TEST(KvDtypeCache, APoolOfBytesHoldsMoreBlocksOfSmallerRows) {
  // 1 MiB at head_dim 64, block 16: floor(1048576 / (16 · bytes per slot)).
  ModelConfig model;
  model.head_dim = 64;
  const std::map<DType, int64_t> blocks{
      {DType::F32, 124}, {DType::F16, 240}, {DType::BF16, 240}, {DType::Q8_0, 431}, {DType::Q4_0, 744}};
  for (const auto& [dtype, n] : blocks) {
    EXPECT_EQ(blocks_for_pool_bytes(int64_t{1} << 20, model, 16, dtype), n) << kernels::kv_dtype_name(dtype);
  }
}

TEST(KvDtypeCache, NamesAndHeadDimAreCheckedWithOneLineErrors) {
  EXPECT_EQ(parse_kv_dtype("q8_0"), DType::Q8_0);
  EXPECT_EQ(error_of([] { parse_kv_dtype("fp8"); }), "kv_dtype: unknown 'fp8' (one of f32, f16, bf16, q8_0, q4_0)");
  auto backend = kernels::make_cpu_backend(1);
  const KvCacheShape shape{1, 1, 36, 4, 8, DType::Q4_0};
  EXPECT_EQ(error_of([&] { KvCache cache(*backend, shape); }),
            "kv_dtype: q4_0 stores blocks of 32 values along head_dim, which must be a multiple of 32; it is 36");
  EXPECT_EQ(error_of([&] { KvCache cache(*backend, KvCacheShape{1, 1, 36, 4, 8, DType::BF16}); }), "(no error)");
}

// Writes rows[t] (head_dim values) as K and V of positions 0..n-1 of (seq, layer 0, head 0).
void write_rows(kernels::Backend& backend, KvCache& cache, int32_t seq, const std::vector<std::vector<float>>& rows) {
  const auto n = static_cast<int64_t>(rows.size());
  const int64_t first = cache.length(seq, 0, 0);
  ASSERT_TRUE(cache.append(seq, n));
  std::vector<float> flat;
  std::vector<int32_t> slots, pos;
  for (int64_t t = 0; t < n; ++t) {
    flat.insert(flat.end(), rows[static_cast<size_t>(t)].begin(), rows[static_cast<size_t>(t)].end());
    slots.push_back(cache.slot(seq, 0, 0, first + t));
    pos.push_back(static_cast<int32_t>(first + t));
  }
  backend.kv_write(cache.pool_view(), flat.data(), flat.data(), n, slots.data(), pos.data());
}

TEST(KvDtypeCache, CompactionMovesRoundedRowsUnchanged) {
  auto backend = kernels::make_cpu_backend(1);
  for (DType dtype : kernels::kKvDTypes) {
    KvCache cache(*backend, KvCacheShape{1, 1, 64, 4, 8, dtype});
    const int32_t seq = cache.add_sequence();
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<std::vector<float>> rows(11, std::vector<float>(64));
    for (auto& r : rows) {
      for (float& x : r) x = unit(rng);
    }
    write_rows(*backend, cache, seq, rows);
    // What each position holds: its row rounded to the dtype.
    std::vector<std::vector<float>> stored;
    for (const auto& r : rows) {
      std::vector<uint8_t> bytes(kernels::kv_row_bytes(dtype, 64));
      std::vector<float> back(64);
      kernels::quantize_row(dtype, r.data(), bytes.data(), 64);
      kernels::dequantize_row(dtype, bytes.data(), back.data(), 64);
      stored.push_back(back);
    }
    const std::vector<int64_t> evict{0, 3, 4, 9};
    EXPECT_EQ(cache.evict(seq, 0, 0, evict), 1);  // 11 -> 7 slots: 3 blocks -> 2
    const std::vector<int32_t> kept{1, 2, 5, 6, 7, 8, 10};
    EXPECT_EQ(cache.positions(seq, 0, 0), kept);
    const std::vector<float> keys = cache.keys(seq, 0, 0);
    for (size_t i = 0; i < kept.size(); ++i) {
      const std::vector<float> want = stored[static_cast<size_t>(kept[i])];
      EXPECT_TRUE(std::equal(want.begin(), want.end(), keys.begin() + static_cast<ptrdiff_t>(i * 64)))
          << kernels::kv_dtype_name(dtype) << " position " << kept[i];
    }
    EXPECT_EQ(cache.used_slots(), 7);
  }
}

// 24 positions of one head; keys are α_p·1 + noise·0.05 with α_p = 0.25 at six positions and 0
// elsewhere, queries 2·1: scores differ by 16·0.25 = 4 (probabilities by e^4 ≈ 55) between the
// two kinds, while q8_0 moves a score by at most scale·‖q‖₁·amax/254 = 0.25·64·0.3/254 ≈ 0.02.
// The last 8 prompt queries observe; H2O keeps sink 0, the recent 20..23 and its 6 best.
std::vector<int32_t> h2o_keeps(DType dtype) {
  auto backend = kernels::make_cpu_backend(1);
  const int64_t D = 64;
  KvCache cache(*backend, KvCacheShape{1, 1, D, 4, 16, dtype});
  SequenceState seq;
  seq.id = "s";
  seq.cache_seq = cache.add_sequence();
  seq.prompt.assign(24, 1);
  seq.max_new_tokens = 1;
  seq.phase = SequencePhase::Prefill;
  seq.prefilled = 24;
  const std::vector<int32_t> strong{3, 5, 8, 11, 13, 17};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> noise(-0.05f, 0.05f);
  std::vector<std::vector<float>> rows(24, std::vector<float>(D));
  for (int32_t p = 0; p < 24; ++p) {
    const bool is_strong = std::find(strong.begin(), strong.end(), p) != strong.end();
    for (float& x : rows[static_cast<size_t>(p)]) x = (is_strong ? 0.25f : 0.0f) + noise(rng);
  }
  write_rows(*backend, cache, seq.cache_seq, rows);

  LayerCsr csr;
  const std::vector<int32_t> seqs{seq.cache_seq};
  cache.build_csr(seqs, 0, csr);
  kernels::PagedKv kv = cache.pool_view();
  kv.indptr = csr.indptr.data();
  kv.indices = csr.indices.data();
  kv.lengths = csr.lengths.data();
  const int32_t T = 8;
  std::vector<int32_t> token_seq(T, 0), token_pos;
  std::vector<uint8_t> observe(T, 1);
  for (int32_t t = 0; t < T; ++t) token_pos.push_back(16 + t);
  std::vector<float> q(static_cast<size_t>(T * D), 2.0f), out(q.size());
  kernels::AttentionBatch batch;
  batch.num_tokens = T;
  batch.num_heads = 1;
  batch.token_seq = token_seq.data();
  batch.token_pos = token_pos.data();
  batch.observe = observe.data();
  batch.scale = 1.0f / 8.0f;
  backend->paged_attention(batch, q.data(), kv, out.data());

  PolicyConfig config;
  config.name = "h2o";
  config.budget_tokens = 11;
  config.sinks = 1;
  config.protected_recent = 4;
  config.window = 8;
  auto policy = make_policy(config);
  AppendContext ctx;
  ctx.appended = 24;
  ctx.prefill_done = true;
  ctx.in_prefill = true;
  policy->after_append(seq, cache, ctx);
  return cache.positions(seq.cache_seq, 0, 0);
}

TEST(KvDtypeCache, H2oOverQ8_0KeysKeepsWhatF32Keeps) {
  const std::vector<int32_t> expected{0, 3, 5, 8, 11, 13, 17, 20, 21, 22, 23};
  EXPECT_EQ(h2o_keeps(DType::F32), expected);
  EXPECT_EQ(h2o_keeps(DType::Q8_0), expected);
}

// The engine on a q8_0 pool (llama3-rope: head_dim 32): bytes and slots reported per step are
// the blocks in use at the q8_0 block size and the cached tokens of every (layer, KV head); the
// dtype is fixed for the engine's life.
TEST(KvDtypeCache, EngineReportsBytesAndSlotsOfItsDtype) {
  const auto model = load_model(testing_support::fixture_dir("llama3-rope"));
  const ModelConfig& c = model->config;
  auto backend = kernels::make_cpu_backend(1);
  EngineOptions o;
  o.kv_dtype = DType::Q8_0;
  o.block_size = 4;
  o.num_blocks = 256;
  o.stop_at_eos = false;
  Engine engine(*model, *backend, o);
  engine.submit("r", {1, 2, 3, 4, 5, 6, 7}, 3);
  const StepStats first = engine.step();  // the whole prompt: 7 tokens cached, 2 blocks per head
  const int64_t heads = c.num_layers * c.num_kv_heads;
  EXPECT_EQ(first.kv_slots_used, 7 * heads);
  EXPECT_EQ(first.blocks_used, 2 * heads);
  EXPECT_EQ(first.kv_bytes_used, first.blocks_used * kv_bytes_per_block(32, 4, DType::Q8_0));
  EXPECT_EQ(kv_bytes_per_block(32, 4, DType::Q8_0), 4 * (2 * 34 + 16));
  const StepStats second = engine.step();  // one decode token
  EXPECT_EQ(second.kv_slots_used, 8 * heads);
  EngineOptions other = o;
  other.kv_dtype = DType::F16;
  EXPECT_EQ(error_of([&] { engine.update(other); }), "kv_dtype: cannot change during a run");
  other = o;
  other.kv_rotated = true;
  EXPECT_EQ(error_of([&] { engine.update(other); }), "kv_rotation: cannot change during a run");
}

}  // namespace
}  // namespace kvwb
