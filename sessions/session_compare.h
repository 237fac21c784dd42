#pragma once
// Side-by-side comparison of two sessions: the config keys that differ, and the summary
// metrics (throughput, batch, peak memory, accuracy per task) with their ratio B / A.
#include <optional>
#include <string>
#include <vector>

#include "sessions/session_types.h"

namespace kvwb {

// A config key (dotted path, "policy.budget_tokens") whose values differ; null = absent.
struct ConfigDifference {
  std::string key;
  nlohmann::json a;
  nlohmann::json b;
};

struct MetricComparison {
  std::string name;
  std::string unit;
  std::optional<double> a;
  std::optional<double> b;
  std::optional<double> ratio() const;  // b / a, when both exist and a != 0
};

struct TaskComparison {
  std::string task;  // "" = untasked requests
  int64_t count_a = 0, count_b = 0;
  std::optional<double> score_a, score_b;
  std::optional<double> ratio() const;  // score_b / score_a, when both exist and a != 0
};

struct SessionComparison {
  SessionInfo a, b;
  std::vector<ConfigDifference> config;
  std::vector<MetricComparison> metrics;
  std::vector<TaskComparison> tasks;
};

// Keys present in either object, compared leaf by leaf (objects are walked, arrays compared whole).
std::vector<ConfigDifference> config_differences(const nlohmann::json& a, const nlohmann::json& b);

// Uses each session's info (initial config), config changes, summary and steps.
SessionComparison compare_sessions(const Session& a, const Session& b);

std::string format_comparison(const SessionComparison& comparison);

// A metric's value as the comparison prints it ("1.50 MiB", "12 tok/s", "-" when absent).
std::string metric_value_text(const std::optional<double>& value, const std::string& unit);
// A config value as the comparison prints it ("(absent)" for null).
std::string config_value_text(const nlohmann::json& value);

}  // namespace kvwb
