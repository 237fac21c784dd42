#include "run/run_report.h"

#include <fmt/format.h>

#include "engine/core/json_file.h"

namespace kvwb {

std::string format_summary(const RunSummary& s) {
  std::string out;
  out += fmt::format("requests          {}\n", s.requests);
  out += fmt::format("tokens            {} prompt + {} generated\n", s.prompt_tokens, s.generated_tokens);
  out += fmt::format("wall time         {:.2f} s over {} steps\n", s.wall_seconds, s.steps);
  out += fmt::format("throughput        {:.1f} generated tok/s, {:.1f} total tok/s\n", s.generated_tokens_per_second,
                     s.total_tokens_per_second);
  out += fmt::format("batch size        mean {:.2f}, max {}\n", s.mean_batch, s.max_batch);
  out += fmt::format("KV blocks         peak {} of {} ({:.1f}%), pool {}\n", s.peak_blocks_used, s.blocks_total,
                     s.blocks_total > 0 ? 100.0 * static_cast<double>(s.peak_blocks_used) / static_cast<double>(s.blocks_total) : 0.0,
                     format_bytes(s.kv_pool_bytes));
  out += fmt::format("preemptions       {}\n", s.preemptions);
  out += fmt::format("evicted KV slots  {} ({:.1f}% of wall time spent evicting", s.evicted_slots,
                     s.wall_seconds > 0 ? 100.0 * s.eviction_seconds / s.wall_seconds : 0.0);
  if (s.evicting_steps > 0 && s.evicting_steps_seconds > 0) {
    out += fmt::format("; {:.1f}% of the {} steps that evicted",
                       100.0 * s.evicting_steps_eviction_seconds / s.evicting_steps_seconds, s.evicting_steps);
  }
  out += ")\n";
  if (s.guide_tokens > 0) {
    out += fmt::format("guide tokens      {} fed again with prefill chunks (+{:.1f}% prefill work)\n", s.guide_tokens,
                       s.prompt_tokens > 0 ? 100.0 * static_cast<double>(s.guide_tokens) / static_cast<double>(s.prompt_tokens) : 0.0);
  }
  if (s.overall.count > 0) {
    out += fmt::format("accuracy          {:.4f} over {} scored requests\n", s.overall.mean, s.overall.count);
  }
  return out;
}

std::string format_task_table(const RunSummary& s) {
  std::string out = fmt::format("{:<24} {:>8} {:>10}\n", "task", "requests", "score");
  for (const auto& [task, t] : s.tasks) {
    out += fmt::format("{:<24} {:>8} {:>10.4f}\n", task.empty() ? "(none)" : task, t.count, t.mean);
  }
  out += fmt::format("{:<24} {:>8} {:>10.4f}\n", "overall", s.overall.count, s.overall.mean);
  return out;
}

nlohmann::json summary_to_json(const RunSummary& s) {
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& [task, t] : s.tasks) tasks[task] = {{"count", t.count}, {"score", t.mean}};
  return {{"requests", s.requests},
          {"steps", s.steps},
          {"prompt_tokens", s.prompt_tokens},
          {"generated_tokens", s.generated_tokens},
          {"wall_seconds", s.wall_seconds},
          {"generated_tokens_per_second", s.generated_tokens_per_second},
          {"total_tokens_per_second", s.total_tokens_per_second},
          {"mean_batch", s.mean_batch},
          {"max_batch", s.max_batch},
          {"peak_blocks_used", s.peak_blocks_used},
          {"blocks_total", s.blocks_total},
          {"kv_pool_bytes", s.kv_pool_bytes},
          {"preemptions", s.preemptions},
          {"evicted_slots", s.evicted_slots},
          {"guide_tokens", s.guide_tokens},
          {"eviction_seconds", s.eviction_seconds},
          {"evicting_steps", s.evicting_steps},
          {"evicting_steps_seconds", s.evicting_steps_seconds},
          {"evicting_steps_eviction_seconds", s.evicting_steps_eviction_seconds},
          {"tasks", tasks},
          {"accuracy", {{"count", s.overall.count}, {"score", s.overall.mean}}}};
}

namespace {
// A stored count: a float out of int64's range would be undefined behaviour in nlohmann's
// value(); json_integer refuses it with the key named.
int64_t count_field(const nlohmann::json& j, const char* key) {
  return json_optional<int64_t>(j, key, 0, "run summary");
}
}  // namespace

RunSummary summary_from_json(const nlohmann::json& j) {
  RunSummary s;
  if (!j.is_object()) return s;
  s.requests = count_field(j, "requests");
  s.steps = count_field(j, "steps");
  s.prompt_tokens = count_field(j, "prompt_tokens");
  s.generated_tokens = count_field(j, "generated_tokens");
  s.wall_seconds = j.value("wall_seconds", 0.0);
  s.generated_tokens_per_second = j.value("generated_tokens_per_second", 0.0);
  s.total_tokens_per_second = j.value("total_tokens_per_second", 0.0);
  s.mean_batch = j.value("mean_batch", 0.0);
  s.max_batch = count_field(j, "max_batch");
  s.peak_blocks_used = count_field(j, "peak_blocks_used");
  s.blocks_total = count_field(j, "blocks_total");
  s.kv_pool_bytes = count_field(j, "kv_pool_bytes");
  s.preemptions = count_field(j, "preemptions");
  s.evicted_slots = count_field(j, "evicted_slots");
  s.guide_tokens = count_field(j, "guide_tokens");
  s.eviction_seconds = j.value("eviction_seconds", 0.0);
  s.evicting_steps = count_field(j, "evicting_steps");
  s.evicting_steps_seconds = j.value("evicting_steps_seconds", 0.0);
  s.evicting_steps_eviction_seconds = j.value("evicting_steps_eviction_seconds", 0.0);
  if (j.contains("tasks") && j.at("tasks").is_object()) {
    for (const auto& [task, t] : j.at("tasks").items()) {
      s.tasks[task] = {count_field(t, "count"), t.value("score", 0.0)};
    }
  }
  if (j.contains("accuracy") && j.at("accuracy").is_object()) {
    s.overall = {count_field(j.at("accuracy"), "count"), j.at("accuracy").value("score", 0.0)};
  }
  return s;
}

namespace {

// Per output token, [[id, logprob], ...] most likely first.
nlohmann::json top_logprobs_to_json(const std::vector<std::vector<TokenLogprob>>& steps) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::vector<TokenLogprob>& step : steps) {
    nlohmann::json row = nlohmann::json::array();
    for (const TokenLogprob& t : step) row.push_back({t.id, t.logprob});
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

nlohmann::json results_to_json(const std::vector<RequestResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const RequestResult& r : results) {
    out.push_back({{"id", r.id},
                   {"task", r.task},
                   {"prompt_tokens", r.prompt_tokens},
                   {"question_tokens", r.question_tokens},
                   {"output", r.output_text},
                   {"output_tokens", r.output_tokens},
                   {"score", r.score < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.score)},
                   {"stopped_at_eos", r.stopped_at_eos},
                   {"preemptions", r.preemptions},
                   {"latency_seconds", r.latency_seconds}});
    if (!r.top_logprobs.empty()) out.back()["top_logprobs"] = top_logprobs_to_json(r.top_logprobs);
  }
  return out;
}

}  // namespace kvwb
