#pragma once
// Shared helpers of the session tests: a scratch directory per test, sample values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/config/run_config.h"
#include "sessions/session_recorder.h"

namespace kvwb::testing_util {

// A fresh directory under the test temp dir, removed (made writable first) at the end.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("kvwb_sessions_" + std::string(info->name()) + "_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A step whose every field is distinct and derived from `i`, so a mixed-up column shows.
inline StepStats sample_step(int64_t i) {
  StepStats s;
  s.step = i;
  s.start_seconds = 0.5 * static_cast<double>(i);
  s.wall_seconds = 0.001 * static_cast<double>(i + 1);
  s.batch_size = i % 7 + 1;
  s.running = i % 5;
  s.waiting = i % 3;
  s.prefill_tokens = 100 + i;
  s.decode_tokens = 200 + i;
  s.admitted = i % 2;
  s.finished = i % 4 == 3 ? 1 : 0;
  s.preemptions = i % 11 == 10 ? 1 : 0;
  s.evicted_slots = 3 * i;
  s.blocks_freed_by_eviction = i / 2;
  s.blocks_used = 40 + i;
  s.blocks_free = 1000 - 40 - i;
  s.blocks_total = 1000;
  s.peak_blocks_used = 45 + i;
  s.kv_bytes_used = (40 + i) * 4096;
  s.kv_slots_used = (40 + i) * 16 - i % 5;  // not a multiple of the blocks: stored, not derived
  s.forward_seconds = 0.0007 * static_cast<double>(i + 1);
  s.eviction_seconds = 0.0001 * static_cast<double>(i % 3);
  if (i % 3 != 0) s.evictions_per_head = {i, 0, 2 * i, 300};
  return s;
}

inline std::vector<HeadRetention> sample_retention(int64_t step) {
  std::vector<HeadRetention> heads;
  for (const char* id : {"req-a", "req-b"}) {
    for (int32_t layer = 0; layer < 2; ++layer) {
      for (int32_t head = 0; head < 2; ++head) {
        HeadRetention h;
        h.request_id = id;
        h.layer = layer;
        h.head = head;
        for (int32_t p = 0; p < 20 + step; p += 1 + head + layer) h.positions.push_back(p);
        h.length = static_cast<int32_t>(h.positions.size());
        heads.push_back(std::move(h));
      }
    }
  }
  return heads;
}

inline NewSession sample_session(const std::string& name = "test session") {
  NewSession s;
  s.name = name;
  s.description = "made by a test";
  s.model = "tests/fixtures/models/llama-tied";
  s.backend = "cpu";
  s.device = "test CPU";
  RunConfig c;
  c.model = s.model;
  c.workload = "w.jsonl";
  c.policy.name = "kv-compress";
  c.policy.budget_tokens = 128;
  s.config = run_config_to_json(c);
  return s;
}

}  // namespace kvwb::testing_util
