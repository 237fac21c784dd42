#pragma once
// Spans for span-granular eviction (policy.span): runs of tokens that a policy keeps or drops
// together, found from each token's text. A word span joins tokens with no space or punctuation
// between them (SmolLM2 writes "6561234" as seven digit tokens: one span); a line span runs up
// to and including a token that holds a newline. Special tokens are spans of their own.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvwb {

class Tokenizer;

enum class SpanKind : uint8_t { None, Word, Line };

// The kind named by policy.span (none | word | line); fails naming the key otherwise.
SpanKind span_kind(std::string_view name);

// Where a vocabulary's tokens break spans, per token id.
class SpanRules {
 public:
  SpanRules() = default;  // SpanKind::None: every token is a span of its own
  // pieces[id] is token id's text; special[id] != 0 marks a special token.
  SpanRules(std::span<const std::string> pieces, std::span<const uint8_t> special, SpanKind kind);
  // The rules of a tokenizer's vocabulary (each id's text as it decodes after another token, so
  // a metaspace "▁" reads as the space it stands for).
  static SpanRules for_tokenizer(const Tokenizer& tokenizer, SpanKind kind);

  SpanKind kind() const { return kind_; }
  // Whether a span ends between token `prev` and the token `next` that follows it (ids outside
  // the vocabulary always break).
  bool breaks(int32_t prev, int32_t next) const;
  // Extends starts (starts[i] = position of the first token of token i's span) to cover the
  // first `count` tokens, token_at(i) giving token i; entries already there are kept.
  void extend(int64_t count, const std::function<int32_t(int64_t)>& token_at, std::vector<int32_t>& starts) const;
  // The span starts of a whole token list.
  std::vector<int32_t> starts(std::span<const int32_t> tokens) const;

 private:
  SpanKind kind_ = SpanKind::None;
  std::vector<uint8_t> opens_, closes_;  // per id: a span starts at it / ends after it
};

}  // namespace kvwb
