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

}  // namespace kvwb
