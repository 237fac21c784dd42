// Chrome trace export: the file parses back (nlohmann), spans nest per thread as recorded,
// counters and instants come back with their values, and bad paths give a clear error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "engine/core/error.h"
#include "profiler/chrome_trace.h"
#include "profiler/scoped_span.h"

namespace kvwb {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

void busy_for(std::chrono::microseconds length) {
  const auto end = std::chrono::steady_clock::now() + length;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// step > {attention > {rope}, matmul} on the calling thread.
void synthetic_step(Profiler& profiler, int64_t step) {
  profiler.set_step(step);
  ScopedSpan s(&profiler, "step", Category::step);
  {
    ScopedSpan attention(&profiler, "attention", Category::op);
    busy_for(std::chrono::microseconds(200));
    ScopedSpan rope(&profiler, "rope", Category::op);
    busy_for(std::chrono::microseconds(100));
  }
  ScopedSpan matmul(&profiler, "matmul", Category::op);
  busy_for(std::chrono::microseconds(100));
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("kvwb_profiler_" + std::to_string(getpid()) + "_" + name);
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST(ChromeTrace, WrittenFileParsesBackWithEveryEvent) {
  Profiler profiler;
  profiler.name_this_thread("engine");
  for (int step = 0; step < 3; ++step) {
    synthetic_step(profiler, step);
    profiler.counter("batch_size", 4 + step);
  }
  profiler.instant("budget_tokens=128", Category::config, {{"budget_tokens", int64_t{128}}});
  const Trace trace = profiler.take();
  const fs::path path = temp_path("trace.json");
  write_chrome_trace(trace, path.string());
  const json doc = read_json(path);
  fs::remove(path);

  ASSERT_TRUE(doc.contains("traceEvents"));
  EXPECT_EQ(doc["otherData"]["dropped_events"], 0);
  std::map<std::string, int> phases;
  for (const json& e : doc["traceEvents"]) ++phases[e["ph"].get<std::string>()];
  EXPECT_EQ(phases["X"], 12);  // 4 spans per step
  EXPECT_EQ(phases["C"], 3);
  EXPECT_EQ(phases["i"], 1);

  bool named_process = false, named_thread = false;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] != "M") continue;
    if (e["name"] == "process_name" && e["args"]["name"] == "kvwb CPU") named_process = true;
    if (e["name"] == "thread_name" && e["args"]["name"] == "engine") named_thread = true;
  }
  EXPECT_TRUE(named_process);
  EXPECT_TRUE(named_thread);

  // Spans keep name, category, step and args; times are µs from the origin.
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] != "X" || e["name"] != "step") continue;
    EXPECT_EQ(e["cat"], "step");
    EXPECT_GE(e["ts"].get<double>(), 0.0);
    EXPECT_GT(e["dur"].get<double>(), 0.0);
    EXPECT_TRUE(e["args"].contains("step"));
  }
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "i") {
      EXPECT_EQ(e["s"], "g");
      EXPECT_EQ(e["args"]["budget_tokens"], 128);
    }
  }
}

TEST(ChromeTrace, SpansNestInsideTheirParentsOnEachThread) {
  Profiler profiler;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&profiler] {
      for (int step = 0; step < 3; ++step) synthetic_step(profiler, step);
    });
  }
  for (std::thread& th : threads) th.join();
  const json doc = chrome_trace_json(profiler.take());

  // Per (pid, tid): every span lies inside the span that encloses its start, as a stack.
  struct Interval {
    double begin, end;
    std::string name;
  };
  std::map<std::pair<int, int>, std::vector<Interval>> by_thread;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const double ts = e["ts"].get<double>(), dur = e["dur"].get<double>();
    by_thread[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back(
        {ts, ts + dur, e["name"].get<std::string>()});
  }
  ASSERT_EQ(by_thread.size(), 2u);
  constexpr double kRoundingUs = 1e-3;  // 1 ns: ts and dur are separate doubles
  for (auto& [thread, spans] : by_thread) {
    std::stable_sort(spans.begin(), spans.end(), [](const Interval& a, const Interval& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
    });
    std::vector<Interval> open;
    std::map<std::string, std::string> parent_of;
    for (const Interval& s : spans) {
      while (!open.empty() && open.back().end <= s.begin + kRoundingUs) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(s.end, open.back().end + kRoundingUs)
            << s.name << " overlaps " << open.back().name << " without nesting";
        parent_of[s.name] = open.back().name;
      } else {
        parent_of[s.name] = "";
      }
      open.push_back(s);
    }
    EXPECT_EQ(parent_of["step"], "");
    EXPECT_EQ(parent_of["attention"], "step");
    EXPECT_EQ(parent_of["rope"], "attention");
    EXPECT_EQ(parent_of["matmul"], "step");
  }
}

TEST(ChromeTrace, CountersBecomeCounterTracksWithTheirValues) {
  Trace trace;
  trace.origin_ns = 1'000'000;
  trace.counters = {{"kv_blocks_used", 12, 0, 1'002'000},
                    {"kv_blocks_used", 15.5, 1, 1'005'500},
                    {"tokens_per_second", 812.25, 1, 1'005'500}};
  const json doc = chrome_trace_json(trace);
  std::vector<std::tuple<std::string, double, double>> back;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] != "C") continue;
    back.emplace_back(e["name"].get<std::string>(), e["ts"].get<double>(),
                      e["args"]["value"].get<double>());
  }
  using T = std::tuple<std::string, double, double>;
  EXPECT_EQ(back, (std::vector<T>{T{"kv_blocks_used", 2.0, 12},
                                  T{"kv_blocks_used", 5.5, 15.5},
                                  T{"tokens_per_second", 5.5, 812.25}}));
}

TEST(ChromeTrace, GpuStreamsAreTheirOwnProcessAndThreads) {
  Trace trace;
  const Track stream{Track::Kind::gpu_stream, 1, 7};
  trace.spans.push_back(Span{"gemm_kernel", Category::kernel, 1000, 3000, stream, 4,
                             {{"op", std::string("matmul")}, {"op_id", int64_t{9}}}});
  const json doc = chrome_trace_json(trace);
  bool gpu_process_named = false, stream_named = false, kernel_seen = false;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "process_name" && e["pid"] == 3) {
      gpu_process_named = e["args"]["name"] == "GPU 1";
    }
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 3 && e["tid"] == 7) {
      stream_named = e["args"]["name"] == "GPU 1 stream 7";
    }
    if (e["ph"] == "X") {
      kernel_seen = true;
      EXPECT_EQ(e["pid"], 3);
      EXPECT_EQ(e["tid"], 7);
      EXPECT_EQ(e["cat"], "kernel");
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 1.0);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 2.0);
      EXPECT_EQ(e["args"]["op"], "matmul");
      EXPECT_EQ(e["args"]["op_id"], 9);
      EXPECT_EQ(e["args"]["step"], 4);
    }
  }
  EXPECT_TRUE(gpu_process_named);
  EXPECT_TRUE(stream_named);
  EXPECT_TRUE(kernel_seen);
}

TEST(ChromeTrace, UnwritablePathNamesThePath) {
  const std::string path = "/nonexistent-kvwb-dir/sub/trace.json";
  try {
    write_chrome_trace(Trace{}, path);
    FAIL() << "expected kvwb::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("cannot open trace file for writing"), std::string::npos) << message;
  }
}

TEST(ChromeTrace, DirectoryAsPathIsAnError) {
  const fs::path dir = temp_path("dir");
  fs::create_directories(dir);
  EXPECT_THROW(write_chrome_trace(Trace{}, dir.string()), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvwb
