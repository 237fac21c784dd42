#include "run/sweep/sweep_report.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace kvwb {
namespace {

std::string number(double v, int decimals) { return std::isnan(v) ? "-" : fmt::format("{:.{}f}", v, decimals); }

nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

const SweepRow* reference_row(const SweepAnalysis& a) {
  for (const SweepRow& r : a.rows) {
    if (r.point.reference) return &r;
  }
  return nullptr;
}

double vs_reference_throughput(const SweepAnalysis& a, const SweepRow& row) {
  const SweepRow* ref = reference_row(a);
  if (!ref || ref->measured.summary.total_tokens_per_second <= 0) return std::nan("");
  return row.measured.summary.total_tokens_per_second / ref->measured.summary.total_tokens_per_second;
}

std::string budget_text(const PolicyConfig& p) {
  if (p.budget_tokens) return std::to_string(*p.budget_tokens);
  if (p.budget_ratio) return fmt::format("{}x", *p.budget_ratio);
  return "-";
}

}  // namespace

std::string format_sweep_table(const SweepAnalysis& a) {
  std::string out = fmt::format("{:<2} {:<14} {:>6} {:>5} {:<4} {:>6} {:>5} {:>9} {:>8} {:>7} {:>6} {:>8} {:>8} {:>8}  {}\n",
                                "", "policy", "budget", "chunk", "kv", "batch", "max", "tok/s", "gen/s", "vs full", "score",
                                "rel.acc", "fidelity", "session", "knobs");
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const SweepRow& r = a.rows[i];
    const bool recommended = a.recommended && *a.recommended == i;
    const std::string mark = std::string(r.frontier ? "*" : " ") + (recommended ? "<" : " ");
    out += fmt::format("{:<2} {:<14} {:>6} {:>5} {:<4} {:>6.2f} {:>5} {:>9.1f} {:>8.1f} {:>7} {:>6} {:>8} {:>8} {:>8}  {}\n",
                       mark, r.point.config.policy.name, budget_text(r.point.config.policy), r.point.config.prefill_chunk,
                       r.point.config.kv_dtype, r.measured.summary.mean_batch, r.measured.summary.max_batch, r.measured.summary.total_tokens_per_second,
                       r.measured.summary.generated_tokens_per_second, number(vs_reference_throughput(a, r), 2) + "x",
                       number(r.measured.score(), 3), number(r.vs_reference.relative_accuracy, 3),
                       number(r.vs_reference.fidelity, 3),
                       fmt::format("#{}{}", r.measured.session_id, r.measured.reused ? "r" : ""),
                       r.point.knobs.empty() ? "-" : r.point.knobs);
  }
  out += fmt::format("* Pareto frontier (total tok/s vs {}), < recommended, #Nr = read back from the store\n",
                     a.accuracy_basis);
  return out;
}

std::string format_task_ratios(const SweepAnalysis& a) {
  std::set<std::string> tasks;
  bool any_ratio = false;
  for (const SweepRow& r : a.rows) {
    for (const TaskRatio& t : r.vs_reference.tasks) {
      tasks.insert(t.task);
      any_ratio = any_ratio || !std::isnan(t.ratio);
    }
  }
  if (!any_ratio) return "";  // the reference scores 0 everywhere: a table of dashes says nothing
  size_t width = 40;  // labels naming tuned knobs run longer
  for (const SweepRow& r : a.rows) width = std::max(width, r.point.label.size());
  std::string out = fmt::format("{:<{}}", "score / full-KV score, per task", width);
  for (const std::string& t : tasks) out += fmt::format(" {:>12.12}", t.empty() ? "(none)" : t);
  out += "\n";
  for (const SweepRow& r : a.rows) {
    out += fmt::format("{:<{}}", r.point.label, width);
    for (const std::string& task : tasks) {
      double ratio = std::nan("");
      for (const TaskRatio& t : r.vs_reference.tasks) {
        if (t.task == task) ratio = t.ratio;
      }
      out += fmt::format(" {:>12}", number(ratio, 3));
    }
    out += "\n";
  }
  return out;
}

std::string format_recommendation(const SweepAnalysis& a) {
  std::string out;
  if (a.accuracy_basis == "fidelity") {
    out += "note: the full-KV reference scores 0 on every task, so accuracy is measured as fidelity (tokens identical "
           "to full KV)\n";
  }
  if (!a.recommended) {
    double best = std::nan("");
    for (const SweepRow& r : a.rows) {
      if (!std::isnan(r.accuracy) && !(r.accuracy <= best)) best = r.accuracy;
    }
    return out + fmt::format("no point reaches {} {:.3f} (the best reached {})\n", a.accuracy_basis, a.min_accuracy,
                             number(best, 3));
  }
  const SweepRow& r = a.rows[*a.recommended];
  return out + fmt::format("recommended: {} (session #{}): {:.1f} tok/s, {} full KV, {} {:.3f} >= {:.3f}\n", r.point.label,
                           r.measured.session_id, r.measured.summary.total_tokens_per_second,
                           number(vs_reference_throughput(a, r), 2) + "x", a.accuracy_basis, r.accuracy,
                           a.min_accuracy);
}

nlohmann::json sweep_to_json(const SweepAnalysis& a) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const SweepRow& r = a.rows[i];
    nlohmann::json tasks = nlohmann::json::object();
    for (const TaskRatio& t : r.vs_reference.tasks) {
      tasks[t.task] = {{"count", t.count},
                       {"score", t.point_mean},
                       {"full_kv_score", t.reference_mean},
                       {"ratio", json_number(t.ratio)}};
    }
    nlohmann::json config = run_config_to_json(r.point.config);
    rows.push_back({{"label", r.point.label},
                    {"reference", r.point.reference},
                    {"policy", r.point.config.policy.name},
                    {"budget_tokens", r.point.config.policy.budget_tokens ? nlohmann::json(*r.point.config.policy.budget_tokens)
                                                                          : nlohmann::json(nullptr)},
                    {"budget_ratio", r.point.config.policy.budget_ratio ? nlohmann::json(*r.point.config.policy.budget_ratio)
                                                                        : nlohmann::json(nullptr)},
                    {"knobs", r.point.knobs},
                    {"prefill_chunk", r.point.config.prefill_chunk},
                    {"kv_dtype", r.point.config.kv_dtype},
                    {"session", r.measured.session_id},
                    {"reused", r.measured.reused},
                    {"total_tokens_per_second", r.measured.summary.total_tokens_per_second},
                    {"generated_tokens_per_second", r.measured.summary.generated_tokens_per_second},
                    {"throughput_vs_full", json_number(vs_reference_throughput(a, r))},
                    {"mean_batch", r.measured.summary.mean_batch},
                    {"max_batch", r.measured.summary.max_batch},
                    {"preemptions", r.measured.summary.preemptions},
                    {"wall_seconds", r.measured.summary.wall_seconds},
                    {"score", json_number(r.measured.score())},
                    {"relative_accuracy", json_number(r.vs_reference.relative_accuracy)},
                    {"fidelity", json_number(r.vs_reference.fidelity)},
                    {"accuracy", json_number(r.accuracy)},
                    {"frontier", r.frontier},
                    {"recommended", a.recommended && *a.recommended == i},
                    {"tasks", tasks},
                    {"config", config}});
  }
  return {{"accuracy_basis", a.accuracy_basis},
          {"min_accuracy", a.min_accuracy},
          {"complete", a.complete},
          {"recommended", a.recommended ? nlohmann::json(*a.recommended) : nlohmann::json(nullptr)},
          {"points", rows}};
}

}  // namespace kvwb
