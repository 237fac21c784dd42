#pragma once
// Workloads: requests with reference answers, one JSON object per line (docs/architecture.md; the fields in docs/user-guide.md).
#include <cstdint>
#include <string>
#include <vector>

namespace kvwb {

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct Request {
  std::string id;
  std::string prompt;                 // plain prompt, or empty when messages are given
  std::vector<ChatMessage> messages;  // chat requests: the model's chat template is applied
  // Text that follows the prompt (the last message's content, or `prompt`) but reaches the
  // engine only after the policy compressed the prompt: kvpress's question-agnostic protocol.
  // The chat template closes the turn after it. "" = none: the whole prompt is compressed.
  std::string question;
  int64_t max_new_tokens = 64;
  std::string task;                   // e.g. niah_single; "" = untasked
  std::vector<std::string> answers;   // reference answers
  std::string metric;                 // em | f1 | rouge_l | contains_all | contains_any; "" = none
  int64_t line = 0;                   // 1-based line in the file
};

struct BadLine {
  int64_t line = 0;
  std::string problem;
};

struct Workload {
  std::string path;
  std::vector<Request> requests;
  std::vector<BadLine> skipped;  // only when loaded with skip_bad_lines
};

// Reads a JSONL workload. A malformed line is an error "<path>:<line>: <problem>" that stops
// the load (the default: a run never silently drops requests); with skip_bad_lines it is
// recorded in `skipped` and the rest load. Blank lines are ignored. Duplicate ids are errors.
Workload load_workload(const std::string& path, bool skip_bad_lines = false);

// Parses one line; throws Error naming `where`.
Request parse_request(const std::string& line_text, const std::string& where);

}  // namespace kvwb
