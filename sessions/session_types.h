#pragma once
// The values a session holds, as the store returns them and the recorder takes them. Plain
// data: the GUI, the CLI and comparisons read these without a database connection. Steps use
// the engine's StepStats; events use the profiler's Span/Counter/Instant; run results and the
// summary are the session-side copies (sessions does not depend on run/).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/runtime/step_stats.h"
#include "profiler/event.h"

namespace kvwb {

enum class SessionStatus { running, finished, interrupted };

std::string_view status_name(SessionStatus status);

// The policy a stored RunConfig names ("full" when it names none), for lists and labels.
std::string policy_name_of(const nlohmann::json& config);

struct SessionInfo {
  int64_t id = 0;
  std::string uid;  // unique per recorded run; kept by export/import (detects a second import)
  std::string name;
  std::string description;
  std::string created;  // ISO 8601, UTC
  std::string model;
  std::string backend;
  std::string device;
  std::string kvwb_version;
  // "running" only while the recording process is alive; a run whose process died reads
  // "interrupted".
  SessionStatus status = SessionStatus::running;
  int64_t steps = 0;          // step rows recorded
  int64_t dropped_items = 0;  // recorder items refused because its queue was full
  nlohmann::json config;      // the RunConfig at step 0
};

// A live config update, applied before `step` ran. `config` is the whole RunConfig after it.
struct ConfigChange {
  int64_t step = 0;
  nlohmann::json config;
};

// Retained slots of every (request, layer, KV head) at the end of one step.
struct RetentionSnapshot {
  int64_t step = 0;
  std::vector<HeadRetention> heads;
};

// For one request: per (layer, KV head), the step at which each token position was evicted
// (-1 = still retained at the end) and the score that decided it (NaN where none was reported:
// the engine reports scores of evicted slots only). Index = token position. Heads that never
// evicted anything may be absent (everything kept).
struct HeadEvictions {
  int32_t layer = 0;
  int32_t head = 0;
  std::vector<int32_t> evicted_at_step;
  std::vector<float> scores;
};

struct EvictionMap {
  std::string request_id;
  int64_t step = 0;  // the last step the map covers
  int64_t context_length = 0;  // positions 0 .. context_length - 1 in every head
  std::vector<HeadEvictions> heads;
};

// One request's tokens: the prompt, then what it generated, with each token's text as the
// tokenizer decodes that token alone (raw bytes: a piece may hold part of a UTF-8 character).
// The eviction map shows them on hover. Sessions from before schema version 3 have none.
struct RequestTokens {
  std::string request_id;
  int64_t prompt_tokens = 0;       // ids[0 .. prompt_tokens) are the prompt
  std::vector<int32_t> ids;        // index = token position
  std::vector<std::string> pieces;  // same length as ids
};

// One request's outcome (the session-side copy of run/'s RequestResult).
struct SessionResult {
  std::string id;
  std::string task;
  std::string metric;
  int64_t prompt_tokens = 0;
  std::string output_text;
  std::vector<int32_t> output_tokens;
  std::optional<double> score;  // absent when the request has no metric
  double latency_seconds = 0;
  double first_token_seconds = 0;
  int64_t preemptions = 0;
  bool stopped_at_eos = false;
};

// Profiler events of a session, in time order.
struct SessionEvents {
  std::vector<Span> spans;
  std::vector<Instant> instants;
  std::vector<Counter> counters;
  std::vector<TrackName> tracks;
};

// StepStats::kv_slots_used of a step recorded before session schema version 4, which stored
// bytes only: the step's tokens are not known.
inline constexpr int64_t kSlotsNotRecorded = -1;

// A whole session as values.
struct Session {
  SessionInfo info;
  std::vector<ConfigChange> config_changes;  // in step order
  std::vector<StepStats> steps;              // in step order, without retention
  std::vector<RetentionSnapshot> retention;  // in step order
  std::vector<EvictionMap> eviction_maps;    // by request id
  std::vector<SessionResult> results;        // by request id
  std::vector<RequestTokens> tokens;         // by request id
  nlohmann::json summary;                    // null until the run finished
  SessionEvents events;
};

}  // namespace kvwb
