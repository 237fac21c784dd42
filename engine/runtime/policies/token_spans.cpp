#include "engine/runtime/policies/token_spans.h"

#include "engine/core/error.h"
#include "engine/tokenizer/tokenizer.h"

namespace kvwb {
namespace {

// Letters and digits join a word; so does any byte of a multi-byte UTF-8 character.
bool word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
}

}  // namespace

SpanKind span_kind(std::string_view name) {
  if (name == "none") return SpanKind::None;
  if (name == "word") return SpanKind::Word;
  if (name == "line") return SpanKind::Line;
  fail("policy.span", "unknown span '{}' (none, word, line)", name);
}

SpanRules::SpanRules(std::span<const std::string> pieces, std::span<const uint8_t> special, SpanKind kind)
    : kind_(kind), opens_(pieces.size(), 1), closes_(pieces.size(), 1) {
  if (kind == SpanKind::None) return;
  for (size_t id = 0; id < pieces.size(); ++id) {
    const std::string& p = pieces[id];
    if ((id < special.size() && special[id]) || p.empty()) continue;  // a span of its own
    if (kind == SpanKind::Word) {
      opens_[id] = !word_byte(p.front());
      closes_[id] = !word_byte(p.back());
    } else {
      opens_[id] = 0;
      closes_[id] = p.find('\n') != std::string::npos;
    }
  }
}

SpanRules SpanRules::for_tokenizer(const Tokenizer& tokenizer, SpanKind kind) {
  if (kind == SpanKind::None) return {};
  const auto n = static_cast<int32_t>(tokenizer.vocab_size());
  // Decoding after an ordinary token keeps a leading space that a decoder strips at the start
  // of a text (metaspace); byte-level pieces read the same either way.
  const int32_t anchor = tokenizer.token_id("a");
  const std::string prefix = anchor >= 0 ? tokenizer.decode_raw(std::vector<int32_t>{anchor}) : "";
  std::vector<std::string> pieces(static_cast<size_t>(n));
  std::vector<uint8_t> special(static_cast<size_t>(n), 0);
  for (int32_t id = 0; id < n; ++id) {
    special[static_cast<size_t>(id)] = tokenizer.is_special(id) ? 1 : 0;
    if (special[static_cast<size_t>(id)]) continue;
    if (anchor < 0) {
      pieces[static_cast<size_t>(id)] = tokenizer.decode_raw(std::vector<int32_t>{id});
      continue;
    }
    const std::string both = tokenizer.decode_raw(std::vector<int32_t>{anchor, id});
    const bool prefixed = both.compare(0, prefix.size(), prefix) == 0;
    pieces[static_cast<size_t>(id)] = prefixed ? both.substr(prefix.size()) : tokenizer.decode_raw(std::vector<int32_t>{id});
  }
  return SpanRules(pieces, special, kind);
}

bool SpanRules::breaks(int32_t prev, int32_t next) const {
  if (kind_ == SpanKind::None) return true;
  const auto n = static_cast<int32_t>(opens_.size());
  if (prev < 0 || prev >= n || next < 0 || next >= n) return true;
  return closes_[static_cast<size_t>(prev)] || opens_[static_cast<size_t>(next)];
}

void SpanRules::extend(int64_t count, const std::function<int32_t(int64_t)>& token_at,
                       std::vector<int32_t>& starts) const {
  for (auto i = static_cast<int64_t>(starts.size()); i < count; ++i) {
    const bool fresh = i == 0 || breaks(token_at(i - 1), token_at(i));
    starts.push_back(fresh ? static_cast<int32_t>(i) : starts.back());
  }
}

std::vector<int32_t> SpanRules::starts(std::span<const int32_t> tokens) const {
  std::vector<int32_t> out;
  extend(static_cast<int64_t>(tokens.size()), [&](int64_t i) { return tokens[static_cast<size_t>(i)]; }, out);
  return out;
}

}  // namespace kvwb
