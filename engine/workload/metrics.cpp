#include "engine/workload/metrics.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "engine/core/error.h"

namespace kvwb {

std::string normalize_answer(std::string_view text) {
  // Lowercase (ASCII), punctuation to nothing, then drop the articles a/an/the.
  std::string cleaned;
  cleaned.reserve(text.size());
  for (unsigned char ch : text) {
    if (std::ispunct(ch)) continue;
    cleaned.push_back(std::isspace(ch) ? ' ' : static_cast<char>(std::tolower(ch)));
  }
  std::string out;
  size_t i = 0;
  while (i < cleaned.size()) {
    while (i < cleaned.size() && cleaned[i] == ' ') ++i;
    size_t j = i;
    while (j < cleaned.size() && cleaned[j] != ' ') ++j;
    if (j > i) {
      const std::string_view word(cleaned.data() + i, j - i);
      if (word != "a" && word != "an" && word != "the") {
        if (!out.empty()) out.push_back(' ');
        out.append(word);
      }
    }
    i = j;
  }
  return out;
}

std::vector<std::string> answer_tokens(std::string_view text) {
  const std::string norm = normalize_answer(text);
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < norm.size()) {
    const size_t j = std::min(norm.find(' ', i), norm.size());
    tokens.emplace_back(norm.substr(i, j - i));
    i = j + 1;
  }
  return tokens;
}

double exact_match(std::string_view prediction, std::string_view reference) {
  return normalize_answer(prediction) == normalize_answer(reference) ? 1.0 : 0.0;
}

double token_f1(std::string_view prediction, std::string_view reference) {
  const auto p = answer_tokens(prediction);
  const auto r = answer_tokens(reference);
  if (p.empty() || r.empty()) return p.empty() && r.empty() ? 1.0 : 0.0;
  std::map<std::string, int> counts;
  for (const auto& t : r) ++counts[t];
  int common = 0;
  for (const auto& t : p) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / static_cast<double>(p.size());
  const double recall = static_cast<double>(common) / static_cast<double>(r.size());
  return 2 * precision * recall / (precision + recall);
}

namespace {
// ROUGE tokenisation as in Google's rouge-score: lowercase, every non-alphanumeric byte is a
// separator (articles are kept, unlike the SQuAD normalisation).
std::vector<std::string> rouge_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string cur;
  for (unsigned char ch : text) {
    if (std::isalnum(ch)) {
      cur.push_back(static_cast<char>(std::tolower(ch)));
    } else if (!cur.empty()) {
      tokens.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}
}  // namespace

double rouge_l(std::string_view prediction, std::string_view reference) {
  const auto p = rouge_tokens(prediction);
  const auto r = rouge_tokens(reference);
  if (p.empty() || r.empty()) return p.empty() && r.empty() ? 1.0 : 0.0;
  // Longest common subsequence by dynamic programming over two rows.
  std::vector<int> prev(r.size() + 1, 0), cur(r.size() + 1, 0);
  for (size_t i = 1; i <= p.size(); ++i) {
    for (size_t j = 1; j <= r.size(); ++j) {
      cur[j] = p[i - 1] == r[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  const double lcs = prev[r.size()];
  if (lcs == 0) return 0.0;
  const double precision = lcs / static_cast<double>(p.size());
  const double recall = lcs / static_cast<double>(r.size());
  return 2 * precision * recall / (precision + recall);
}

namespace {
bool contains_ci(std::string_view haystack, std::string_view needle) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  return lower(haystack).find(lower(needle)) != std::string::npos;
}
}  // namespace

double contains_all(std::string_view prediction, const std::vector<std::string>& references) {
  if (references.empty()) return 0.0;
  size_t found = 0;
  for (const auto& r : references) found += contains_ci(prediction, r) ? 1 : 0;
  return static_cast<double>(found) / static_cast<double>(references.size());
}

double contains_any(std::string_view prediction, const std::vector<std::string>& references) {
  for (const auto& r : references) {
    if (contains_ci(prediction, r)) return 1.0;
  }
  return 0.0;
}

double score_answer(const std::string& metric, std::string_view prediction, const std::vector<std::string>& references) {
  if (metric == "contains_all") return contains_all(prediction, references);
  if (metric == "contains_any") return contains_any(prediction, references);
  double (*fn)(std::string_view, std::string_view) = nullptr;
  if (metric == "em") fn = exact_match;
  else if (metric == "f1") fn = token_f1;
  else if (metric == "rouge_l") fn = rouge_l;
  else fail("metric", "unknown metric '{}'", metric);
  double best = 0.0;
  for (const auto& r : references) best = std::max(best, fn(prediction, r));
  return best;
}

}  // namespace kvwb
