#pragma once
// Answer-quality metrics on text, as the field computes them: exact match and token F1 after
// SQuAD-style normalisation (lowercase, no punctuation, no articles, single spaces), ROUGE-L
// (LCS F-measure over rouge-score's tokens: lowercase alphanumeric runs), and RULER's string matching (contains_all = share of
// references found in the prediction; contains_any = 1 when any is).
#include <string>
#include <string_view>
#include <vector>

namespace kvwb {

std::string normalize_answer(std::string_view text);
std::vector<std::string> answer_tokens(std::string_view text);  // normalised, split on spaces

double exact_match(std::string_view prediction, std::string_view reference);
double token_f1(std::string_view prediction, std::string_view reference);
double rouge_l(std::string_view prediction, std::string_view reference);
double contains_all(std::string_view prediction, const std::vector<std::string>& references);
double contains_any(std::string_view prediction, const std::vector<std::string>& references);

// The request's score in [0, 1] under `metric` (em, f1, rouge_l: best over references).
double score_answer(const std::string& metric, std::string_view prediction, const std::vector<std::string>& references);

}  // namespace kvwb
