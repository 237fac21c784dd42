#pragma once
// Records a Run into a session database (kvwb-cli run --record, the GUI's controller): every
// step's statistics with a retention snapshot every few steps, each live config change, each
// request's result as it finishes, the eviction maps of the traced requests (trace_sequences)
// and the summary at the end. Every finished request's tokens (prompt and output, with their
// text) are stored too, for the eviction map's hover. A run profiled before the recording starts also streams its
// profiler events (every step's spans and counters, and the recorder's own writes as
// "session write" spans). Writing happens on the SessionRecorder's thread; the engine thread
// only queues values.
#include <cstdint>
#include <memory>
#include <string>

#include "run/run.h"
#include "sessions/session_recorder.h"

namespace kvwb {

struct RecordingOptions {
  std::string name;  // empty: "<policy> on <model>"
  std::string description;
  int64_t retention_every = 8;  // steps between retention snapshots; 0 = none
  RecorderOptions recorder;
};

class RunRecording {
 public:
  // Adds the session row at once (a bad database path fails here, before the run starts) and
  // attaches observers to `run`, which must outlive this object's finish() or destruction
  // (both detach them).
  RunRecording(Run& run, const std::string& db_path, const RecordingOptions& options = {});
  // Without finish(): what was queued is committed and the session reads "interrupted".
  ~RunRecording();
  RunRecording(const RunRecording&) = delete;
  RunRecording& operator=(const RunRecording&) = delete;

  // Call after Run::update_config succeeded: the change applies from the next step.
  void config_changed(const RunConfig& config);
  // Writes the remaining results and the summary and marks the session finished. Throws the
  // recorder's error, if writing failed (what was committed before stays in the file).
  void finish();

  int64_t session_id() const;
  const std::string& path() const;
  // Items dropped because the recorder's queue was full (also stored in the session).
  int64_t dropped() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// RecorderOptions::on_commit for a profiled run: each committed batch becomes a "session write"
// span (Category::sessions, arg "items") on the writer thread's track. `profiler` must outlive
// the recorder (Run owns it; RunRecording finishes first).
std::function<void(int64_t, int64_t, int64_t)> session_write_spans(Profiler& profiler);

// The session-side copy of a request's result.
SessionResult session_result(const RequestResult& result);

// A request's prompt and generated tokens with each token's text, decoded alone by `tokenizer`
// (raw bytes, special tokens included: the eviction map shows every position).
RequestTokens request_tokens_of(const RequestResult& result, const Tokenizer& tokenizer);

// "<CPU model name>, N threads" for the CPU backend (what `device` says in a session).
std::string cpu_device_description(int threads);

}  // namespace kvwb
