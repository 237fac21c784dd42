#include "profiler/chrome_trace.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "engine/core/error.h"

namespace kvwb {
namespace {

using nlohmann::json;

constexpr int kCpuPid = 1;

double micros_since(int64_t origin_ns, int64_t time_ns) {
  return static_cast<double>(time_ns - origin_ns) / 1000.0;
}

json arg_value(const ArgValue& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

json args_json(const std::vector<Arg>& args, int64_t step) {
  json out = json::object();
  for (const Arg& a : args) out[a.key] = arg_value(a.value);
  out["step"] = step;
  return out;
}

json metadata(const char* what, int pid, uint32_t tid, const json& args) {
  return json{{"name", what}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", args}};
}

}  // namespace

int chrome_trace_pid(const Track& track) {
  return track.kind == Track::Kind::gpu_stream ? 2 + static_cast<int>(track.device) : kCpuPid;
}

json chrome_trace_json(const Trace& trace) {
  json events = json::array();

  // Metadata first: names for the processes and for every track that has events.
  std::set<Track> tracks;
  for (const Span& s : trace.spans) tracks.insert(s.track);
  for (const Instant& i : trace.instants) tracks.insert(i.track);
  for (const TrackName& named : trace.tracks) tracks.insert(named.track);
  std::set<int> pids{kCpuPid};
  for (const Track& t : tracks) pids.insert(chrome_trace_pid(t));
  for (int pid : pids) {
    const std::string name = pid == kCpuPid ? "kvwb CPU" : "GPU " + std::to_string(pid - 2);
    events.push_back(metadata("process_name", pid, 0, {{"name", name}}));
    events.push_back(metadata("process_sort_index", pid, 0, {{"sort_index", pid}}));
  }
  for (const Track& t : tracks) {
    events.push_back(
        metadata("thread_name", chrome_trace_pid(t), t.id, {{"name", trace.track_name(t)}}));
  }

  for (const Span& s : trace.spans) {
    events.push_back(json{{"name", s.name},
                          {"cat", category_name(s.category)},
                          {"ph", "X"},
                          {"ts", micros_since(trace.origin_ns, s.start_ns)},
                          {"dur", static_cast<double>(s.duration_ns()) / 1000.0},
                          {"pid", chrome_trace_pid(s.track)},
                          {"tid", s.track.id},
                          {"args", args_json(s.args, s.step)}});
  }
  for (const Counter& c : trace.counters) {
    events.push_back(json{{"name", c.name},
                          {"ph", "C"},
                          {"ts", micros_since(trace.origin_ns, c.time_ns)},
                          {"pid", kCpuPid},
                          {"tid", 0},
                          {"args", {{"value", c.value}}}});
  }
  for (const Instant& i : trace.instants) {
    events.push_back(json{{"name", i.name},
                          {"cat", category_name(i.category)},
                          {"ph", "i"},
                          {"s", i.category == Category::config ? "g" : "t"},
                          {"ts", micros_since(trace.origin_ns, i.time_ns)},
                          {"pid", chrome_trace_pid(i.track)},
                          {"tid", i.track.id},
                          {"args", args_json(i.args, i.step)}});
  }

  return json{{"traceEvents", std::move(events)},
              {"displayTimeUnit", "ns"},
              {"otherData",
               {{"producer", "kvwb profiler"},
                {"origin_ns", trace.origin_ns},
                {"dropped_events", trace.dropped_events}}}};
}

void write_chrome_trace(const Trace& trace, const std::string& path) {
  // Replace invalid UTF-8 (a foreign kernel name, say) instead of failing the export.
  const std::string text =
      chrome_trace_json(trace).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open trace file for writing: {}", std::strerror(errno));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) fail(path, "cannot write trace file: {}", std::strerror(errno));
}

}  // namespace kvwb
