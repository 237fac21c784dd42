// Opening a session database: not SQLite at all, corrupt pages, wrong or newer schema versions,
// broken blobs inside good rows. Two kinds of input:
//   a whole file (starts with "SQLite format 3"), opened as it is;
//   anything else: patches to a real session database recorded at start-up (every table
//   filled: steps, retention, eviction maps, results, config changes, profiler events). Each
//   patch is [u32 offset LE][u8 length][bytes]; offset wraps modulo the file size. The
//   header's user_version (offset 60) and application_id (68) are the schema checks' inputs.
// The database is opened read-only and read-write (which migrates older versions) and read
// completely; only kvwb::Error naming the file may come out.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/config/run_config.h"
#include "sessions/session_recorder.h"
#include "sessions/session_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

namespace {

std::vector<uint8_t> record_base_database() {
  const fs::path path = fuzz::scratch_subdir("base") / "sessions.db";
  NewSession s;
  s.name = "fuzz base";
  s.model = "demo";
  s.backend = "cpu";
  RunConfig config;
  config.policy.name = "kv-compress";
  config.policy.budget_tokens = 64;
  s.config = run_config_to_json(config);
  {
    SessionRecorder recorder(path.string(), s);
    for (int64_t i = 0; i < 6; ++i) {
      StepStats step;
      step.step = i;
      step.batch_size = 1 + i % 3;
      step.blocks_used = 10 + i;
      step.blocks_total = 100;
      step.evictions_per_head = {i, 2 * i, 0, 1};
      for (int32_t head = 0; head < 2; ++head) {
        HeadRetention h{"r0", 0, head, 0, {}};
        for (int32_t p = 0; p < 8 + i; p += 1 + head) h.positions.push_back(p);
        h.length = static_cast<int32_t>(h.positions.size());
        step.retention.push_back(h);
      }
      recorder.record_step(std::move(step));
      recorder.record_counter(Counter{"tokens_per_second", 100.0 + static_cast<double>(i), i, i * 1000});
    }
    Trace trace;
    trace.spans.push_back(Span{"step", Category::step, 0, 500, Track{}, 0, {{"batch", int64_t{2}}}});
    trace.instants.push_back(Instant{"config", Category::config, 700, Track{}, 1, {{"budget", std::string("64")}}});
    trace.tracks.push_back(TrackName{Track{}, "engine"});
    recorder.record_trace(std::move(trace));
    config.policy.budget_tokens = 32;
    recorder.record_config_change(3, run_config_to_json(config));
    SessionResult result;
    result.id = "r0";
    result.output_text = "answer";
    result.output_tokens = {1, 2, 3};
    result.score = 1.0;
    recorder.record_result(result);
    EvictionMap map;
    map.request_id = "r0";
    map.step = 5;
    map.context_length = 6;
    map.heads.push_back(HeadEvictions{0, 1, {-1, 2, -1, 4, -1, -1}, {0.f, 0.5f, 0.f, 0.25f, 0.f, 0.f}});
    recorder.record_eviction_map(map);
    recorder.finish(nlohmann::json{{"steps", 6}});
  }
  {
    // One self-contained file: WAL checkpointed into it and switched off.
    SessionStore store = SessionStore::open(path.string(), sqlite::OpenMode::read_write);
    store.database().exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE");
  }
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void read_everything(SessionStore& store) {
  for (const SessionInfo& info : store.list()) {
    const Session s = store.load(info.id);
    (void)store.summary(info.id);
    (void)store.steps(info.id, 2, 3);
    for (int64_t step : store.retention_steps(info.id)) (void)store.retention(info.id, step, step);
    for (const EvictionMap& m : s.eviction_maps) (void)store.eviction_map(info.id, m.request_id);
    (void)store.events(info.id, 0, 600, 10);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> base = record_base_database();
  static const fs::path dir = fuzz::scratch_subdir("db");
  static const fs::path file = dir / "sessions.db";
  static const std::string magic("SQLite format 3", 15);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file.string() + suffix);

  std::vector<uint8_t> bytes;
  if (size >= magic.size() && std::equal(magic.begin(), magic.end(), data)) {
    bytes.assign(data, data + size);
  } else {
    bytes = base;
    for (size_t i = 0; i + 5 <= size;) {
      const uint32_t offset = static_cast<uint32_t>(data[i]) | static_cast<uint32_t>(data[i + 1]) << 8 |
                              static_cast<uint32_t>(data[i + 2]) << 16 | static_cast<uint32_t>(data[i + 3]) << 24;
      const size_t length = data[i + 4];
      i += 5;
      for (size_t k = 0; k < length && i < size; ++k, ++i) bytes[(offset + k) % bytes.size()] = data[i];
    }
  }
  fuzz::write_file(file, bytes.data(), bytes.size());
  for (sqlite::OpenMode mode : {sqlite::OpenMode::read_only, sqlite::OpenMode::read_write}) {
    try {
      SessionStore store = SessionStore::open(file.string(), mode);
      read_everything(store);
    } catch (const Error& e) {
      fuzz::check_error_names(e, file);
    }
  }
  return 0;
}
