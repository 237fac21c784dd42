#include "ui/models/token_traces.h"

#include <algorithm>
#include <exception>

#include "engine/workload/workload.h"

namespace kvwb {

void LiveTokenTraces::clear() {
  order_.clear();
  entries_.clear();
  last_step_ = 0;
}

bool LiveTokenTraces::add(const RunSnapshot& s) {
  if (s.layers > 0) layers_ = s.layers, kv_heads_ = s.kv_heads;
  if (!s.points.empty()) last_step_ = s.points.back().step;
  bool changed = false;
  for (const TracedRequest& t : s.traced) {
    const std::string& id = t.tokens.request_id;
    auto [it, added] = entries_.try_emplace(id, Entry{TokenTrace{}, EvictionMapBuilder(id)});
    if (added) order_.push_back(id);
    TokenTrace& trace = it->second.trace;
    trace.request_id = id;
    trace.task = t.task;
    trace.tokens = t.tokens;
    trace.expected = t.answers;
    trace.finished = t.finished;
    changed = true;
  }
  for (const EvictionRecord& e : s.evictions) {
    auto it = entries_.find(e.request_id);
    if (it == entries_.end()) continue;
    it->second.builder.add(e);
    changed = true;
  }
  for (const RequestResult& r : s.finished) {
    auto it = entries_.find(r.id);
    if (it == entries_.end()) continue;
    it->second.trace.answer = r.output_text;
    if (r.score >= 0) it->second.trace.score = r.score;
    changed = true;
  }
  return changed;
}

std::vector<TokenTrace> LiveTokenTraces::traces() const {
  std::vector<TokenTrace> out;
  for (const std::string& id : order_) {
    const Entry& e = entries_.at(id);
    TokenTrace t = e.trace;
    t.layers = layers_;
    t.kv_heads = kv_heads_;
    t.map = e.builder.build(last_step_, static_cast<int64_t>(t.tokens.ids.size()));
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TokenTrace> session_token_traces(const Session& session, int layers, int kv_heads) {
  std::map<std::string, const Request*> requests;
  Workload workload;
  try {
    const std::string path = session.info.config.value("workload", std::string());
    if (!path.empty()) workload = load_workload(path);
  } catch (const std::exception&) {
    // Moved or edited since the recording: the view shows no expected answers.
  }
  for (const Request& r : workload.requests) requests[r.id] = &r;
  if (layers <= 0 || kv_heads <= 0) {
    // No retention snapshots to size the grid: the heads the maps name (those that evicted).
    for (const EvictionMap& m : session.eviction_maps) {
      for (const HeadEvictions& h : m.heads) {
        layers = std::max(layers, h.layer + 1);
        kv_heads = std::max(kv_heads, h.head + 1);
      }
    }
  }
  std::vector<TokenTrace> out;
  for (const EvictionMap& m : session.eviction_maps) {
    TokenTrace t;
    t.request_id = m.request_id;
    t.map = m;
    t.layers = layers;
    t.kv_heads = kv_heads;
    for (const RequestTokens& tokens : session.tokens) {
      if (tokens.request_id == m.request_id) t.tokens = tokens;
    }
    for (const SessionResult& r : session.results) {
      if (r.id != m.request_id) continue;
      t.task = r.task;
      t.answer = r.output_text;
      t.score = r.score;
      t.finished = true;
    }
    if (auto it = requests.find(m.request_id); it != requests.end()) t.expected = it->second->answers;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace kvwb
