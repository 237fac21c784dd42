#include "sessions/session_compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace kvwb {
namespace {

void walk(const std::string& prefix, const nlohmann::json& a, const nlohmann::json& b,
          std::vector<ConfigDifference>& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const std::string& k : keys) {
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      walk(key, a.contains(k) ? a.at(k) : nlohmann::json(), b.contains(k) ? b.at(k) : nlohmann::json(), out);
    }
    return;
  }
  // 16 and 16.0 are the same setting.
  if (a.is_number() && b.is_number() && a.get<double>() == b.get<double>()) return;
  if (a != b) out.push_back({prefix, a, b});
}

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return std::nullopt;
  return j.at(key).get<double>();
}

std::optional<double> nested(const nlohmann::json& j, const char* key, const char* inner) {
  if (!j.is_object() || !j.contains(key)) return std::nullopt;
  return number(j.at(key), inner);
}

// Bytes of one KV block, from any step that used blocks (kv_bytes_used is blocks x this).
std::optional<double> bytes_per_block(const std::vector<StepStats>& steps) {
  for (const StepStats& s : steps) {
    if (s.blocks_used > 0) return static_cast<double>(s.kv_bytes_used) / static_cast<double>(s.blocks_used);
  }
  return std::nullopt;
}

std::optional<double> peak_kv_bytes(const Session& s) {
  const std::optional<double> per_block = bytes_per_block(s.steps);
  const std::optional<double> peak = number(s.summary, "peak_blocks_used");
  if (!per_block || !peak) return std::nullopt;
  return *per_block * *peak;
}

std::optional<double> mean_step_ms(const std::vector<StepStats>& steps) {
  if (steps.empty()) return std::nullopt;
  double total = 0;
  for (const StepStats& s : steps) total += s.wall_seconds;
  return 1e3 * total / static_cast<double>(steps.size());
}

}  // namespace

std::string metric_value_text(const std::optional<double>& v, const std::string& unit) {
  if (!v) return "-";
  if (unit == "bytes") {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    double x = *v;
    int u = 0;
    while (x >= 1024 && u < 3) {
      x /= 1024;
      ++u;
    }
    return fmt::format("{:.2f} {}", x, units[u]);
  }
  if (*v == static_cast<double>(static_cast<int64_t>(*v)) && std::abs(*v) < 1e15) {
    return fmt::format("{}{}", static_cast<int64_t>(*v), unit.empty() ? "" : " " + unit);
  }
  return fmt::format("{:.4g}{}", *v, unit.empty() ? "" : " " + unit);
}

std::string config_value_text(const nlohmann::json& j) { return j.is_null() ? "(absent)" : j.dump(); }

std::optional<double> TaskComparison::ratio() const {
  if (!score_a || !score_b || *score_a == 0) return std::nullopt;
  return *score_b / *score_a;
}

std::optional<double> MetricComparison::ratio() const {
  if (!a || !b || *a == 0) return std::nullopt;
  return *b / *a;
}

std::vector<ConfigDifference> config_differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::vector<ConfigDifference> out;
  walk("", a, b, out);
  return out;
}

SessionComparison compare_sessions(const Session& a, const Session& b) {
  SessionComparison c;
  c.a = a.info;
  c.b = b.info;
  c.config = config_differences(a.info.config, b.info.config);
  auto metric = [&](std::string name, std::string unit, std::optional<double> va, std::optional<double> vb) {
    c.metrics.push_back({std::move(name), std::move(unit), va, vb});
  };
  auto summary = [&](const char* label, const char* key, const char* unit) {
    metric(label, unit, number(a.summary, key), number(b.summary, key));
  };
  summary("throughput (generated)", "generated_tokens_per_second", "tok/s");
  summary("throughput (total)", "total_tokens_per_second", "tok/s");
  summary("mean batch", "mean_batch", "seqs");
  summary("max batch", "max_batch", "seqs");
  summary("peak KV blocks", "peak_blocks_used", "");
  metric("peak KV memory", "bytes", peak_kv_bytes(a), peak_kv_bytes(b));
  summary("KV pool", "kv_pool_bytes", "bytes");
  summary("wall time", "wall_seconds", "s");
  summary("steps", "steps", "");
  metric("mean step time", "ms", mean_step_ms(a.steps), mean_step_ms(b.steps));
  summary("generated tokens", "generated_tokens", "");
  summary("preemptions", "preemptions", "");
  summary("evicted KV slots", "evicted_slots", "");
  metric("accuracy", "", nested(a.summary, "accuracy", "score"), nested(b.summary, "accuracy", "score"));
  metric("live config changes", "", static_cast<double>(a.config_changes.size()),
         static_cast<double>(b.config_changes.size()));

  std::set<std::string> tasks;
  for (const Session* s : {&a, &b}) {
    if (s->summary.is_object() && s->summary.contains("tasks") && s->summary.at("tasks").is_object()) {
      for (const auto& [task, value] : s->summary.at("tasks").items()) tasks.insert(task);
    }
  }
  for (const std::string& task : tasks) {
    TaskComparison t;
    t.task = task;
    auto fill = [&](const Session& s, int64_t& count, std::optional<double>& score) {
      if (!s.summary.contains("tasks") || !s.summary.at("tasks").contains(task)) return;
      const nlohmann::json& entry = s.summary.at("tasks").at(task);
      count = static_cast<int64_t>(number(entry, "count").value_or(0));
      score = number(entry, "score");
    };
    fill(a, t.count_a, t.score_a);
    fill(b, t.count_b, t.score_b);
    c.tasks.push_back(std::move(t));
  }
  return c;
}

std::string format_comparison(const SessionComparison& c) {
  std::string out;
  out += fmt::format("A  #{} {} ({}, {})\n", c.a.id, c.a.name, c.a.created, status_name(c.a.status));
  out += fmt::format("B  #{} {} ({}, {})\n\n", c.b.id, c.b.name, c.b.created, status_name(c.b.status));
  if (c.config.empty()) {
    out += "config: identical\n";
  } else {
    out += fmt::format("{:<32} {:>24} {:>24}\n", "config key", "A", "B");
    for (const ConfigDifference& d : c.config) {
      out += fmt::format("{:<32} {:>24} {:>24}\n", d.key, config_value_text(d.a), config_value_text(d.b));
    }
  }
  out += fmt::format("\n{:<24} {:>18} {:>18} {:>9}\n", "metric", "A", "B", "B/A");
  for (const MetricComparison& m : c.metrics) {
    const std::optional<double> r = m.ratio();
    out += fmt::format("{:<24} {:>18} {:>18} {:>9}\n", m.name, metric_value_text(m.a, m.unit), metric_value_text(m.b, m.unit),
                       r ? fmt::format("{:.3f}", *r) : "-");
  }
  if (!c.tasks.empty()) {
    out += fmt::format("\n{:<24} {:>10} {:>10} {:>9}\n", "task (n A / n B)", "A", "B", "B/A");
    for (const TaskComparison& t : c.tasks) {
      const std::string label = fmt::format("{} ({}/{})", t.task.empty() ? "(none)" : t.task, t.count_a, t.count_b);
      const std::optional<double> r = t.ratio();
      const std::string ratio = r ? fmt::format("{:.3f}", *r) : "-";
      out += fmt::format("{:<24} {:>10} {:>10} {:>9}\n", label, t.score_a ? fmt::format("{:.4f}", *t.score_a) : "-",
                         t.score_b ? fmt::format("{:.4f}", *t.score_b) : "-", ratio);
    }
  }
  return out;
}

}  // namespace kvwb
