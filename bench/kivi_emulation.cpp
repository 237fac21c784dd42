// KIVI-style 4-bit KV, emulated on an f32 cache (issue 21, "try such formats"): a measurement,
// not a KV dtype of the engine. A full-KV f32 run whose cache is rewritten after every step:
//   keys:   per channel, in groups of 32 consecutive tokens (asymmetric 4-bit: min and scale per
//           channel and group, both rounded to f16); the newest keys stay exact (rounded to f16)
//           until their group of 32 fills;
//   values: per token, in groups of 32 channels along head_dim (asymmetric 4-bit, f16 min and scale).
// What this would cost per slot at head_dim 64: K 64 x 4 bit + 2 f16 per channel per 32 tokens
// = 40 B, V 32 B + 2 groups x 2 f16 = 40 B, plus the 16 B of slot metadata: 96 B (q4_0: 88 B, f32: 528 B).
//
//   build/bench/kivi_emulation smollm2 data/ruler-quick.jsonl 20 kivi4 kivi4-results.json [top-k]
//   python3 bench/compare_results.py f32-results.json kivi4-results.json
//
// The format argument is kivi4 or none (the same f32 run untouched: checks the harness). Prints the
// summary and the per-task table as kvwb-cli eval does; writes the results (with top-k log-probs,
// default 64) for bench/compare_results.py.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "engine/core/error.h"
#include "kernels/half.h"
#include "kernels/quant.h"
#include "run/run.h"
#include "run/run_report.h"

namespace kvwb {
namespace {

constexpr int64_t kGroup = 32;   // tokens per key group, channels per value group
constexpr float kLevels = 15.0f;  // 4 bits, asymmetric

float round_f16(float x) { return f16_to_f32(f32_to_f16(x)); }

// Asymmetric 4-bit round trip of n values spaced `stride` apart, in place.
void quantize_group(float* x, int64_t n, int64_t stride) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i * stride]);
    hi = std::max(hi, x[i * stride]);
  }
  const float min = round_f16(lo);
  const float scale = round_f16((hi - min) / kLevels);
  for (int64_t i = 0; i < n; ++i) {
    float& v = x[i * stride];
    const float q = scale > 0 ? std::clamp(std::nearbyint((v - min) / scale), 0.0f, kLevels) : 0.0f;
    v = min + q * scale;
  }
}

// A per-slot format: each new K and V row rounded to q8_0 / q4_0 once, optionally in a rotated
// basis (rotate = a sign flip per channel then the normalized Walsh-Hadamard transform, an
// orthogonal map: q.k and p.V are unchanged by it, while one large channel is spread over all).
struct SlotFormat {
  kernels::DType dtype = kernels::DType::F32;
  bool rotate = false;
  // Keys stored minus a per-(sequence, layer, KV head) mean, added back when read: q·μ is the
  // same for every key a query sees, so softmax, and attention, do not change; the mean here is
  // that of the keys of the sequence's first step (its first prefill chunk).
  bool center_keys = false;
};

// In-place normalized fast Walsh-Hadamard transform of n (a power of two) values: its own inverse.
void walsh_hadamard(float* x, int64_t n) {
  for (int64_t h = 1; h < n; h *= 2) {
    for (int64_t i = 0; i < n; i += 2 * h) {
      for (int64_t j = i; j < i + h; ++j) {
        const float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
  const float norm = 1.0f / std::sqrt(static_cast<float>(n));
  for (int64_t i = 0; i < n; ++i) x[i] *= norm;
}

float channel_sign(int64_t c) { return ((0x9E3779B97F4A7C15ull >> (c % 64)) & 1) ? -1.0f : 1.0f; }

void round_trip_row(const SlotFormat& format, float* row, int64_t d) {
  std::vector<float> tmp(row, row + d);
  std::vector<uint8_t> packed(static_cast<size_t>(d) * 2);
  if (format.rotate) {
    for (int64_t c = 0; c < d; ++c) tmp[static_cast<size_t>(c)] *= channel_sign(c);
    walsh_hadamard(tmp.data(), d);
  }
  kernels::quantize_row(format.dtype, tmp.data(), packed.data(), d);
  kernels::dequantize_row(format.dtype, packed.data(), tmp.data(), d);
  if (format.rotate) {
    walsh_hadamard(tmp.data(), d);  // H is symmetric and orthogonal: its own inverse
    for (int64_t c = 0; c < d; ++c) tmp[static_cast<size_t>(c)] *= channel_sign(c);
  }
  std::copy(tmp.begin(), tmp.end(), row);
}

struct Progress {
  std::vector<float> key_mean;  // center_keys: the mean subtracted before rounding
  int64_t keys_grouped = 0;  // tokens whose key group is quantized (a multiple of kGroup)
  int64_t values_done = 0;   // tokens whose value row is quantized
  int64_t residual_done = 0; // tokens whose exact key was rounded to f16
};

// Rewrites what the cache gained since the last call (full KV: index i holds position i).
class KiviEmulation {
 public:
  explicit KiviEmulation(SlotFormat slot_format = {}) : slot_format_(slot_format) {}
  void after_step(const KvCache& cache) {
    const KvCacheShape& shape = cache.shape();
    const kernels::PagedKv pool = cache.pool_view();
    const int64_t d = shape.head_dim;
    for (auto it = progress_.begin(); it != progress_.end();) {
      it = cache.has_sequence(it->first) ? std::next(it) : progress_.erase(it);  // finished or preempted
    }
    for (int32_t seq = 0; seq < max_seq_; ++seq) {
      if (!cache.has_sequence(seq)) continue;
      for (int64_t layer = 0; layer < shape.num_layers; ++layer) {
        for (int64_t head = 0; head < shape.num_kv_heads; ++head) {
          Progress& p = progress_[seq][layer * shape.num_kv_heads + head];
          const int64_t n = cache.length(seq, layer, head);
          auto key = [&](int64_t i) { return reinterpret_cast<float*>(pool.k_row(cache.slot(seq, layer, head, i))); };
          auto value = [&](int64_t i) { return reinterpret_cast<float*>(pool.v_row(cache.slot(seq, layer, head, i))); };
          if (slot_format_.dtype != kernels::DType::F32) {
            if (slot_format_.center_keys && p.key_mean.empty()) {
              p.key_mean.assign(static_cast<size_t>(d), 0.0f);
              for (int64_t i = 0; i < n; ++i) {
                for (int64_t c = 0; c < d; ++c) p.key_mean[static_cast<size_t>(c)] += key(i)[c] / static_cast<float>(n);
              }
            }
            for (; p.values_done < n; ++p.values_done) {
              float* k = key(p.values_done);
              if (slot_format_.center_keys) {
                for (int64_t c = 0; c < d; ++c) k[c] -= p.key_mean[static_cast<size_t>(c)];
              }
              round_trip_row(slot_format_, k, d);
              if (slot_format_.center_keys) {
                for (int64_t c = 0; c < d; ++c) k[c] += p.key_mean[static_cast<size_t>(c)];
              }
              round_trip_row(slot_format_, value(p.values_done), d);
            }
            continue;
          }
          for (; p.values_done < n; ++p.values_done) {
            for (int64_t c = 0; c < d; c += kGroup) quantize_group(value(p.values_done) + c, std::min(kGroup, d - c), 1);
          }
          for (; p.keys_grouped + kGroup <= n; p.keys_grouped += kGroup) {
            // One channel across the group's tokens: gather, quantize, scatter (slots need not be adjacent).
            std::vector<float> column(static_cast<size_t>(kGroup));
            for (int64_t c = 0; c < d; ++c) {
              for (int64_t t = 0; t < kGroup; ++t) column[static_cast<size_t>(t)] = key(p.keys_grouped + t)[c];
              quantize_group(column.data(), kGroup, 1);
              for (int64_t t = 0; t < kGroup; ++t) key(p.keys_grouped + t)[c] = column[static_cast<size_t>(t)];
            }
          }
          p.residual_done = std::max(p.residual_done, p.keys_grouped);
          for (; p.residual_done < n; ++p.residual_done) {
            float* k = key(p.residual_done);
            for (int64_t c = 0; c < d; ++c) k[c] = round_f16(k[c]);
          }
        }
      }
    }
  }
  void set_max_sequences(int32_t n) { max_seq_ = n; }

 private:
  SlotFormat slot_format_;
  std::map<int32_t, std::map<int64_t, Progress>> progress_;  // by cache sequence, then (layer, head)
  int32_t max_seq_ = 0;
};

int run(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: kivi_emulation MODEL WORKLOAD MAX_REQUESTS kivi4|q8_0|q4_0|q8_0-rot|q4_0-rot|q8_0-rot-centered|q4_0-rot-centered|none RESULTS.json [TOP_K]\n");
    return 2;
  }
  const std::string format = argv[4];
  const std::map<std::string, SlotFormat> slot_formats = {
      {"q8_0", {kernels::DType::Q8_0, false}}, {"q4_0", {kernels::DType::Q4_0, false}},
      {"q8_0-rot", {kernels::DType::Q8_0, true}}, {"q4_0-rot", {kernels::DType::Q4_0, true}},
      {"q8_0-rot-centered", {kernels::DType::Q8_0, true, true}}, {"q4_0-rot-centered", {kernels::DType::Q4_0, true, true}}};
  const auto slot_format = slot_formats.find(format);
  if (format != "kivi4" && format != "none" && slot_format == slot_formats.end()) {
    fail("format", "'{}' is not kivi4, q8_0, q4_0, q8_0-rot, q4_0-rot, q8_0-rot-centered, q4_0-rot-centered or none", format);
  }
  RunConfig config;
  config.model = argv[1];
  config.workload = argv[2];
  config.max_requests = std::atoll(argv[3]);
  config.kv_dtype = "f32";  // the emulation rewrites f32 rows in place
  config.kv_pool_bytes = int64_t{1} << 30;  // no preemption on ruler-quick: every sequence keeps its rows
  config.threads = 1;
  Run run(config);
  run.record_top_logprobs(argc > 6 ? std::atoll(argv[6]) : 64);
  KiviEmulation emulation(slot_format == slot_formats.end() ? SlotFormat{} : slot_format->second);
  emulation.set_max_sequences(static_cast<int32_t>(config.max_batch) + 1);
  if (format != "none") run.add_step_observer([&](const RunStep&) { emulation.after_step(run.engine().cache()); });
  const RunSummary summary = run.run_to_completion();
  std::fputs(format_summary(summary).c_str(), stdout);
  std::fputs("\n", stdout);
  std::fputs(format_task_table(summary).c_str(), stdout);
  std::ofstream out(argv[5]);
  out << results_to_json(run.results()).dump(2) << "\n";
  if (!out) fail(argv[5], "write failed");
  return 0;
}

}  // namespace
}  // namespace kvwb

int main(int argc, char** argv) {
  try {
    return kvwb::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kivi_emulation: %s\n", e.what());
    return 1;
  }
}
