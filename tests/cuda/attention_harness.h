#pragma once
// Paged-attention scenarios for the CUDA tests: sequences with ragged per-head lengths and
// sparse (evicted) positions, decode tokens and prefill chunks in one batch, built on the CPU
// tests' PagedScenario (blocks scattered through the pool, unused slots NaN-poisoned). Runs
// one scenario on both backends and compares outputs and statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "tests/kernels/kv_dtype_pool.h"
#include "tests/kernels/paged_scenario.h"

namespace kvwb::kernels::test {

struct SequenceSpec {
  int32_t positions;   // tokens so far, new ones included
  int32_t new_tokens;  // 1 = decode; more = a prefill chunk (the last new_tokens positions)
  double keep = 1.0;   // fraction of old positions each head retains (independently per head)
};

struct ScenarioSpec {
  int32_t kv_heads = 2, group = 2, head_dim = 64, block_size = 16;
  std::vector<SequenceSpec> seqs;
  enum class Observe { None, All, LastOfEachSequence, Alternate } observe = Observe::All;
  uint32_t seed = 1;
};

inline PagedScenario make_scenario(const ScenarioSpec& spec) {
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::vector<int32_t>> rows;
  std::vector<QueryToken> tokens;
  for (int32_t s = 0; s < static_cast<int32_t>(spec.seqs.size()); ++s) {
    const SequenceSpec& q = spec.seqs[static_cast<size_t>(s)];
    const int32_t first_new = q.positions - q.new_tokens;
    for (int32_t h = 0; h < spec.kv_heads; ++h) {
      std::vector<int32_t> kept;
      for (int32_t p = 0; p < q.positions; ++p) {
        if (p >= first_new || unit(rng) < q.keep) kept.push_back(p);  // new tokens were just written
      }
      rows.push_back(kept);
    }
    for (int32_t i = 0; i < q.new_tokens; ++i) {
      bool observe = false;
      switch (spec.observe) {
        case ScenarioSpec::Observe::None: break;
        case ScenarioSpec::Observe::All: observe = true; break;
        case ScenarioSpec::Observe::LastOfEachSequence: observe = i == q.new_tokens - 1; break;
        case ScenarioSpec::Observe::Alternate: observe = (i + s) % 2 == 0; break;
      }
      tokens.push_back({s, first_new + i, observe});
    }
  }
  return build_scenario(spec.kv_heads, spec.group, spec.head_dim, spec.block_size, rows, tokens, spec.seed + 7);
}

struct AttentionResult {
  std::vector<float> out, att_sum, att_sq, n_obs, k, v;
  std::vector<int32_t> slot_pos;
};

inline AttentionResult run_on_cpu(PagedScenario s, bool observe) {
  AttentionResult r;
  r.out.assign(s.q.size(), std::numeric_limits<float>::quiet_NaN());
  AttentionBatch b = s.batch();
  if (!observe) b.observe = nullptr;
  cpu_backend().paged_attention(b, s.q.data(), s.view(), r.out.data());
  r.att_sum = s.att_sum;
  r.att_sq = s.att_sq;
  r.n_obs = s.n_obs;
  r.k = s.k;
  r.v = s.v;
  r.slot_pos = s.slot_pos;
  return r;
}

// With `stored`, K and V come from its byte pools in its dtype (tests/kernels/kv_dtype_pool.h)
// and the result's k, v stay empty.
inline AttentionResult run_on_cuda(const PagedScenario& s, bool observe, const StoredPool* stored = nullptr) {
  DeviceBuffer k = stored ? DeviceBuffer::from(stored->k) : DeviceBuffer::from(s.k);
  DeviceBuffer v = stored ? DeviceBuffer::from(stored->v) : DeviceBuffer::from(s.v);
  DeviceBuffer pos = DeviceBuffer::from(s.slot_pos);
  DeviceBuffer sum = DeviceBuffer::from(s.att_sum), sq = DeviceBuffer::from(s.att_sq), nobs = DeviceBuffer::from(s.n_obs);
  DeviceBuffer indptr = DeviceBuffer::from(s.indptr), indices = DeviceBuffer::from(s.indices);
  DeviceBuffer lengths = DeviceBuffer::from(s.lengths);
  DeviceBuffer seq = DeviceBuffer::from(s.token_seq), tpos = DeviceBuffer::from(s.token_pos);
  DeviceBuffer obs = DeviceBuffer::from(s.observe), q = DeviceBuffer::from(s.q);
  // Poisoned output: a query the kernel forgets to write shows up as NaN.
  DeviceBuffer out = DeviceBuffer::from(std::vector<float>(s.q.size(), std::numeric_limits<float>::quiet_NaN()));
  PagedKv kv{s.num_kv_heads, s.head_dim, s.block_size, k.as<float>(), v.as<float>(), pos.as<int32_t>(),
             sum.as<float>(), sq.as<float>(), nobs.as<float>(), indptr.as<int32_t>(), indices.as<int32_t>(),
             lengths.as<int32_t>()};
  if (stored) kv.dtype = stored->dtype;
  AttentionBatch b = s.batch();
  b.token_seq = seq.as<int32_t>();
  b.token_pos = tpos.as<int32_t>();
  b.observe = observe ? obs.as<uint8_t>() : nullptr;
  cuda_backend().paged_attention(b, q.as<float>(), kv, out.as<float>());
  AttentionResult r;
  r.out = out.to_host<float>();
  r.att_sum = sum.to_host<float>();
  r.att_sq = sq.to_host<float>();
  r.n_obs = nobs.to_host<float>();
  if (!stored) {
    r.k = k.to_host<float>();
    r.v = v.to_host<float>();
  }
  r.slot_pos = pos.to_host<int32_t>();
  return r;
}

// Outputs: convex combinations of V rows in [-1, 1]; both backends work in f32 with exact
// softmax, so they agree to ~1e-6. Statistics: sums of up to a few hundred probabilities.
// Not yet derived like the CPU bounds of paged_scenario.h: the online softmax's per-tile
// rescaling and split combine need their own terms, checked on a GPU (docs/reliability.md,
// "Tolerances that hold on any CPU").
constexpr double kOutAtol = 1e-5, kOutRtol = 1e-4;
constexpr double kStatAtol = 1e-5, kStatRtol = 1e-4;

inline void expect_same_attention(const PagedScenario& s, const AttentionResult& gpu, const AttentionResult& cpu,
                                  const std::string& what) {
  expect_close(gpu.out, cpu.out, kOutAtol, kOutRtol, what + " out");
  // The pool's K, V and positions are never written by attention.
  EXPECT_EQ(gpu.slot_pos, s.slot_pos) << what;
  int reported = 0;
  for (size_t i = 0; i < s.k.size() && reported < 3; ++i) {
    if (!same_or_both_nan(gpu.k[i], s.k[i]) || !same_or_both_nan(gpu.v[i], s.v[i])) {
      ADD_FAILURE() << what << ": K/V element " << i << " changed";
      ++reported;
    }
  }
  // Statistics slot by slot; unused (poisoned) slots must stay untouched.
  for (size_t slot = 0; slot < s.used.size() && reported < 8; ++slot) {
    if (!s.used[slot]) {
      if (!same_or_both_nan(gpu.att_sum[slot], s.att_sum[slot]) || !same_or_both_nan(gpu.n_obs[slot], s.n_obs[slot])) {
        ADD_FAILURE() << what << ": unused slot " << slot << " was written";
        ++reported;
      }
      continue;
    }
    const auto close = [](double a, double b) { return std::fabs(a - b) <= kStatAtol + kStatRtol * std::fabs(b); };
    if (!close(gpu.att_sum[slot], cpu.att_sum[slot]) || !close(gpu.att_sq[slot], cpu.att_sq[slot]) ||
        gpu.n_obs[slot] != cpu.n_obs[slot]) {
      ADD_FAILURE() << what << ": slot " << slot << " stats (" << gpu.att_sum[slot] << ", " << gpu.att_sq[slot] << ", "
                    << gpu.n_obs[slot] << ") vs cpu (" << cpu.att_sum[slot] << ", " << cpu.att_sq[slot] << ", "
                    << cpu.n_obs[slot] << ")";
      ++reported;
    }
  }
}

// Both backends against the double-precision reference of paged_scenario.h, and each other.
inline void check_scenario(const ScenarioSpec& spec, const std::string& what) {
  const PagedScenario s = make_scenario(spec);
  const bool observe = spec.observe != ScenarioSpec::Observe::None;
  const AttentionResult cpu = run_on_cpu(s, observe);
  const AttentionResult gpu = run_on_cuda(s, observe);
  expect_same_attention(s, gpu, cpu, what);
  PagedScenario for_ref = s;
  if (!observe) std::fill(for_ref.observe.begin(), for_ref.observe.end(), 0);
  const ReferenceResult ref = reference_attention(for_ref);
  expect_close(gpu.out, ref.out, kOutAtol, kOutRtol, what + " out vs double reference");
  if (!observe) return;
  std::vector<double> sum, sq, nobs;
  std::vector<double> ref_sum, ref_sq, ref_nobs;
  for (size_t slot = 0; slot < s.used.size(); ++slot) {
    if (!s.used[slot]) continue;
    sum.push_back(gpu.att_sum[slot]);
    sq.push_back(gpu.att_sq[slot]);
    nobs.push_back(gpu.n_obs[slot]);
    ref_sum.push_back(ref.att_sum[slot]);
    ref_sq.push_back(ref.att_sq[slot]);
    ref_nobs.push_back(ref.n_obs[slot]);
  }
  expect_close(sum, ref_sum, kStatAtol, kStatRtol, what + " att_sum vs double reference");
  expect_close(sq, ref_sq, kStatAtol, kStatRtol, what + " att_sq vs double reference");
  expect_close(nobs, ref_nobs, 0.0, 0.0, what + " n_obs vs double reference");
}

}  // namespace kvwb::kernels::test
