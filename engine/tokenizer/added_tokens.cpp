#include "engine/tokenizer/added_tokens.h"

#include <algorithm>

#include "engine/tokenizer/utf8.h"

namespace kvwb {
namespace {

// The \w of Rust's regex crate, used by single_word: alphanumeric, marks, connector punctuation.
// Approximated by letters, digits, marks and '_' (single_word is rare in real tokenizers).
bool is_word_char(const utf8::Char& c) {
  if (!c.valid) return false;
  const char32_t x = c.code;
  if (x < 0x80) return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || x == '_';
  return !utf8::is_whitespace(x);  // non-ASCII: treat every non-space character as a word char
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return is_word_char(utf8::next(s, i));
}

bool starts_with_word(std::string_view s) { return !s.empty() && is_word_char(utf8::next(s, 0)); }

// Start of the whitespace run that ends s.
size_t trailing_space_start(std::string_view s, size_t floor) {
  size_t start = s.size();
  for (size_t i = floor; i < s.size();) {
    const utf8::Char c = utf8::next(s, i);
    const bool space = c.valid && utf8::is_whitespace(c.code);
    if (!space) start = s.size();
    else if (start == s.size()) start = i;
    i += c.size;
  }
  return start;
}

size_t leading_space_end(std::string_view s, size_t from) {
  size_t i = from;
  while (i < s.size()) {
    const utf8::Char c = utf8::next(s, i);
    if (!c.valid || !utf8::is_whitespace(c.code)) break;
    i += c.size;
  }
  return i;
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer& normalizer)
    : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    by_id_[t.id] = i;
    by_content_.emplace(t.content, t.id);
    if (t.content.empty()) continue;  // tokenizers ignores empty added tokens
    Matcher& m = t.normalized ? normalized_ : raw_;
    m.patterns.push_back(t.normalized ? normalizer.apply(t.content) : t.content);
    m.token_index.push_back(i);
  }
  build(raw_);
  build(normalized_);
}

void AddedVocabulary::build(Matcher& m) {
  for (size_t p = 0; p < m.patterns.size(); ++p) {
    if (m.patterns[p].empty()) continue;
    m.by_first_byte[static_cast<uint8_t>(m.patterns[p][0])].push_back(p);
  }
  for (auto& list : m.by_first_byte) {
    // Longest first; among equal lengths the first declared wins (stable).
    std::stable_sort(list.begin(), list.end(),
                     [&](size_t a, size_t b) { return m.patterns[a].size() > m.patterns[b].size(); });
  }
}

std::vector<TextPiece> AddedVocabulary::split(std::string_view text, const Matcher& m) const {
  std::vector<TextPiece> out;
  if (m.empty()) {
    if (!text.empty()) out.push_back({0, text.size(), -1});
    return out;
  }
  size_t emitted = 0;  // end of the last piece pushed
  size_t pos = 0;
  while (pos < text.size()) {
    // Leftmost-longest: the first position where any pattern matches, its longest pattern.
    const auto& candidates = m.by_first_byte[static_cast<uint8_t>(text[pos])];
    const size_t* hit = nullptr;
    for (const size_t& p : candidates) {
      if (text.substr(pos, m.patterns[p].size()) == m.patterns[p]) {
        hit = &p;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[m.token_index[*hit]];
    size_t start = pos, stop = pos + m.patterns[*hit].size();
    pos = stop;  // the search resumes after the match even when it is discarded
    if (token.single_word) {
      const bool start_ok = start == 0 || !ends_with_word(text.substr(0, start));
      const bool stop_ok = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!start_ok || !stop_ok) continue;
    }
    if (token.lstrip) start = std::max(trailing_space_start(text.substr(0, start), emitted), emitted);
    if (token.rstrip) stop = leading_space_end(text, stop);
    if (emitted < start) out.push_back({emitted, start, -1});
    out.push_back({start, stop, token.id});
    emitted = stop;
    pos = std::max(pos, stop);
  }
  if (emitted < text.size()) out.push_back({emitted, text.size(), -1});
  return out;
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocabulary::id_of(std::string_view content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? -1 : it->second;
}

}  // namespace kvwb
