#pragma once
// The traced requests the token view shows, live or recorded: each request's tokens with their
// text, its answer and the expected answers, and its eviction map (which step evicted which
// position from which (layer, KV head)). Live, they accumulate from the run's snapshots (the
// map built from the engine's eviction records as they arrive, as the session recorder builds
// it); recorded, they come from the session's stored tokens, results and eviction maps. Qt-free.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sessions/eviction_map_builder.h"
#include "sessions/session_types.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {

struct TokenTrace {
  std::string request_id;
  std::string task;
  RequestTokens tokens;                // the prompt, then the output once finished
  std::vector<std::string> expected;  // the workload's reference answers
  std::string answer;                 // empty until the request finished
  std::optional<double> score;        // the request's metric, once finished
  bool finished = false;
  EvictionMap map;
  int layers = 0, kv_heads = 0;
};

class LiveTokenTraces {
 public:
  void clear();
  // Takes a snapshot's traced requests, eviction records and finished results; true when any
  // of them concerned a traced request.
  bool add(const RunSnapshot& snapshot);
  // The traces as of the newest step seen, in the order the run named them.
  std::vector<TokenTrace> traces() const;
  bool empty() const { return order_.empty(); }

 private:
  struct Entry {
    TokenTrace trace;  // without its map: built on demand
    EvictionMapBuilder builder;
  };
  std::vector<std::string> order_;
  std::map<std::string, Entry> entries_;
  int layers_ = 0, kv_heads_ = 0;
  int64_t last_step_ = 0;
};

// The traced requests of a recorded session (those with an eviction map); the expected
// answers come from the session's workload file when it can still be read. A grid of 0 x 0
// (no retention snapshots recorded) is sized from the heads the maps name.
std::vector<TokenTrace> session_token_traces(const Session& session, int layers, int kv_heads);

}  // namespace kvwb
