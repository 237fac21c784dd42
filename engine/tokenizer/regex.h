#pragma once
// Unicode-aware regular expressions for tokenizer patterns (\p{L}, \p{N}, (?i:...), lookahead),
// backed by PCRE2 with UTF and UCP; std::regex cannot express these. Also the literal patterns
// that tokenizer.json spells {"String": "..."}.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvwb {

// A byte range [begin, end) in a UTF-8 string.
using Span = std::pair<size_t, size_t>;

class Regex {
 public:
  // Throws Error("<where>: invalid regex ...") when PCRE2 rejects the pattern.
  Regex(std::string_view pattern, const std::string& where);
  // Non-overlapping matches, leftmost first, as Rust's find_iter reports them. Invalid UTF-8
  // bytes in `text` never match. An empty match advances the search by one character.
  std::vector<Span> find_all(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
  std::string pattern_;
};

// A tokenizer.json pattern: a literal string or a regex.
class Pattern {
 public:
  static Pattern literal(std::string text);
  static Pattern regex(std::string_view pattern, const std::string& where);
  std::vector<Span> find_all(std::string_view text) const;

 private:
  std::string literal_;
  std::shared_ptr<const Regex> regex_;
};

// Replaces every match of `pattern` by `content` (no group references, as in tokenizers).
std::string replace_all(const Pattern& pattern, std::string_view text, std::string_view content);

}  // namespace kvwb
