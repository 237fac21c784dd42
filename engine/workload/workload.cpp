#include "engine/workload/workload.h"

#include <fstream>
#include <set>

#include "engine/core/error.h"
#include "engine/core/json_file.h"

namespace kvwb {
namespace {

const std::set<std::string> kMetrics = {"", "em", "f1", "rouge_l", "contains_all", "contains_any"};
const std::set<std::string> kKeys = {"id", "prompt", "messages", "max_new_tokens", "task", "answers", "metric",
                                      "question"};

}  // namespace

Request parse_request(const std::string& text, const std::string& where) {
  const Json j = parse_json(text, where);
  if (!j.is_object()) fail(where, "a request must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (kKeys.count(key) == 0) fail(where, "unknown key '{}'", key);
  }
  Request r;
  const Json& id = j.contains("id") ? j.at("id") : Json();
  if (id.is_string()) r.id = id.get<std::string>();
  else if (id.is_number_integer()) r.id = id.dump();  // exact, also above INT64_MAX
  else fail(where, "missing or invalid 'id' (a string or an integer)");
  if (r.id.empty()) fail(where, "'id' is empty");
  r.prompt = json_optional<std::string>(j, "prompt", "", where);
  if (j.contains("messages")) {
    const Json& m = j.at("messages");
    if (!m.is_array() || m.empty()) fail(where, "'messages' must be a non-empty array");
    for (const Json& msg : m) {
      ChatMessage cm;
      cm.role = json_required<std::string>(msg, "role", where + ": messages");
      cm.content = json_required<std::string>(msg, "content", where + ": messages");
      if (cm.role != "system" && cm.role != "user" && cm.role != "assistant") {
        fail(where, "messages: unknown role '{}'", cm.role);
      }
      r.messages.push_back(std::move(cm));
    }
  }
  if (r.prompt.empty() == r.messages.empty()) fail(where, "give exactly one of 'prompt' (non-empty) and 'messages'");
  r.question = json_optional<std::string>(j, "question", "", where);
  if (j.contains("question") && r.question.empty()) fail(where, "'question' is empty (leave it out for none)");
  if (!r.messages.empty() && !r.question.empty() && r.messages.back().role != "user") {
    fail(where, "'question' follows the last message, which must be a user turn (it is '{}')", r.messages.back().role);
  }
  r.max_new_tokens = json_optional<int64_t>(j, "max_new_tokens", r.max_new_tokens, where);
  if (r.max_new_tokens < 1) fail(where, "'max_new_tokens' must be at least 1, got {}", r.max_new_tokens);
  r.task = json_optional<std::string>(j, "task", "", where);
  r.answers = json_optional<std::vector<std::string>>(j, "answers", {}, where);
  r.metric = json_optional<std::string>(j, "metric", "", where);
  if (kMetrics.count(r.metric) == 0) {
    fail(where, "unknown metric '{}' (em, f1, rouge_l, contains_all, contains_any)", r.metric);
  }
  if (!r.metric.empty() && r.answers.empty()) fail(where, "metric '{}' needs 'answers'", r.metric);
  return r;
}

Workload load_workload(const std::string& path, bool skip_bad_lines) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot open workload file");
  Workload w;
  w.path = path;
  std::set<std::string> ids;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line);
    try {
      Request r = parse_request(text, where);
      if (!ids.insert(r.id).second) fail(where, "duplicate id '{}'", r.id);
      r.line = line;
      w.requests.push_back(std::move(r));
    } catch (const Error& e) {
      if (!skip_bad_lines) throw;
      w.skipped.push_back({line, e.what()});
    }
  }
  if (w.requests.empty()) fail(path, "the workload has no requests");
  return w;
}

}  // namespace kvwb
