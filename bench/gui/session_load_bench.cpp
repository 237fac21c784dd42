// Load time of an hour-long session (tests/ui/large_session_util.h: 200k steps, 3125 retention
// snapshots, 300k profiler spans), written into a fresh database first: the session browser's
// background load (load_session_paged: paged reads, then the replay's series) against one
// SessionStore::load of the same session, each `--repeat` times, alternating. Prints seconds
// per load and the ratio. No Qt event loop: this times the worker's body, which is all the
// load costs (the GUI thread only receives the result). Results: docs/benchmarks.md.
//
//   nice -n 5 build/bench/session_load_bench --repeat 3
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/ui/large_session_util.h"
#include "ui/controller/session_loader.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  }
  namespace fs = std::filesystem;
  const std::string db = (fs::temp_directory_path() / ("kvwb-session-load-" + std::to_string(::getpid()) + ".db")).string();
  const auto made = Clock::now();
  const int64_t id = kvwb::large_session::write(db);
  std::printf("wrote the session (200k steps, 3125 snapshots, 300k spans): %.2f s, %.1f MiB\n", seconds_since(made),
              static_cast<double>(fs::file_size(db)) / (1024.0 * 1024.0));
  std::vector<double> paged, whole;
  std::atomic<bool> cancel{false};
  for (int r = 0; r < repeat; ++r) {
    auto t = Clock::now();
    int64_t reports = 0;
    const kvwb::LoadedSessionPtr s = kvwb::load_session_paged(db, id, cancel, [&](int64_t, int64_t) { ++reports; });
    paged.push_back(seconds_since(t));
    if (!s || s->session.steps.size() != 200000) {
      std::fprintf(stderr, "session_load_bench: the load came back incomplete\n");
      return 1;
    }
    t = Clock::now();
    kvwb::SessionStore store = kvwb::SessionStore::open(db, kvwb::sqlite::OpenMode::read_only);
    const kvwb::Session whole_session = store.load(id);
    whole.push_back(seconds_since(t));
    std::printf("run %d: background load %.2f s (%lld progress reports), SessionStore::load %.2f s\n", r + 1,
                paged.back(), static_cast<long long>(reports), whole.back());
  }
  std::printf("median: background load %.2f s, SessionStore::load %.2f s, ratio %.2f\n", median(paged), median(whole),
              median(paged) / median(whole));
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  return 0;
}
