#pragma once
// A session of an hour of steps written straight into a store (no engine): 200k step rows, a
// retention snapshot every 64 steps (3125 of them), a profiler step span per step and an op
// span every other step. Batch size and blocks in use carry one-step spikes at known steps, so
// a test can check that decimated plots still show them. Used by tests/ui/large_session_test
// and bench/gui/session_load_bench.
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sessions/session_recorder.h"
#include "sessions/session_rows.h"
#include "sessions/session_store.h"

namespace kvwb::large_session {

struct Options {
  int64_t steps = 200000;
  double step_seconds = 0.018;  // 200k steps = one hour
  int64_t retention_every = 64;
  int layers = 4, kv_heads = 2, sequences = 4;
  int32_t context = 256;  // positions per sequence in a snapshot
};

inline constexpr int64_t kSpikeEvery = 20011;  // a prime: spikes fall at unrelated steps
inline constexpr int64_t kSpikeRunning = 97, kSpikeBlocks = 5000;

inline StepStats step_at(const Options& o, int64_t i) {
  StepStats s;
  s.step = i;
  s.start_seconds = static_cast<double>(i) * o.step_seconds;
  s.wall_seconds = o.step_seconds * 0.9;
  s.forward_seconds = s.wall_seconds * 0.8;
  const bool spike = i % kSpikeEvery == kSpikeEvery / 2;
  s.running = spike ? kSpikeRunning : 8 + i % 7;
  s.batch_size = s.running;
  s.waiting = i % 5;
  s.decode_tokens = s.running;
  s.blocks_total = 6000;
  s.blocks_used = spike ? kSpikeBlocks : 1000 + (i * 37) % 900;
  s.blocks_free = s.blocks_total - s.blocks_used;
  s.peak_blocks_used = s.blocks_used;
  s.kv_bytes_used = s.blocks_used * 4096;
  return s;
}

// Writes the session into `path` (a new file) and returns its id.
inline int64_t write(const std::string& path, const Options& o = {}) {
  NewSession n;
  n.name = "an hour of steps";
  n.model = "synthetic";
  n.backend = "cpu";
  n.config = {{"model", "synthetic"}, {"policy", {{"name", "snapkv"}, {"budget_tokens", 128}}}};
  int64_t id = 0;
  {
    SessionRecorder recorder(path, n);
    id = recorder.session_id();
    recorder.finish({{"steps", o.steps}});
  }
  SessionStore store = SessionStore::open(path);
  sqlite::Database& db = store.database();
  RowWriter rows(db);
  sqlite::Transaction tx(db);
  const auto origin = int64_t{1'000'000'000};
  for (int64_t i = 0; i < o.steps; ++i) {
    const StepStats s = step_at(o, i);
    rows.step(id, s);
    const auto start = origin + static_cast<int64_t>(s.start_seconds * 1e9);
    const auto end = start + static_cast<int64_t>(s.wall_seconds * 1e9);
    Span step{"step", Category::step, start, end, Track{}, i, {}};
    rows.span(id, step);
    if (i % 2 == 0) rows.span(id, Span{"matmul", Category::op, start + 1000, start + 2000 + (i % 13) * 1000, Track{}, i, {}});
    if (i % o.retention_every == 0) {
      std::vector<HeadRetention> heads;
      for (int q = 0; q < o.sequences; ++q) {
        for (int l = 0; l < o.layers; ++l) {
          for (int h = 0; h < o.kv_heads; ++h) {
            HeadRetention r{fmt::format("r{}", q), l, h, 0, {}};
            for (int32_t p = 0; p < o.context; ++p) {
              if (p < 4 || p >= o.context - 32 || (p + l + h + i / o.retention_every) % 3 == 0) r.positions.push_back(p);
            }
            r.length = static_cast<int32_t>(r.positions.size());
            heads.push_back(std::move(r));
          }
        }
      }
      rows.retention(id, i, heads);
    }
  }
  tx.commit();
  return id;
}

}  // namespace kvwb::large_session
