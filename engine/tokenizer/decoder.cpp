#include "engine/tokenizer/decoder.h"

#include <fmt/format.h>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/utf8.h"

namespace kvwb {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Flushes a run of byte tokens: the bytes themselves when raw or valid, else one U+FFFD per byte.
void flush_bytes(std::string& bytes, bool raw, std::vector<std::string>& out) {
  if (bytes.empty()) return;
  if (raw || utf8::is_valid(bytes)) {
    out.push_back(bytes);
  } else {
    for (size_t i = 0; i < bytes.size(); ++i) out.emplace_back(utf8::kReplacement);
  }
  bytes.clear();
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens, bool raw) {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string bytes;
  for (std::string& token : tokens) {
    const int b = parse_byte_token(token);
    if (b >= 0) {
      bytes.push_back(static_cast<char>(b));
    } else {
      flush_bytes(bytes, raw, out);
      out.push_back(std::move(token));
    }
  }
  flush_bytes(bytes, raw, out);
  return out;
}

std::string strip(const std::string& token, char32_t content, size_t start, size_t stop) {
  std::vector<std::pair<size_t, utf8::Char>> chars;  // (offset, char)
  for (size_t i = 0; i < token.size();) {
    const utf8::Char c = utf8::next(token, i);
    chars.emplace_back(i, c);
    i += c.size;
  }
  auto is_content = [&](size_t k) { return chars[k].second.valid && chars[k].second.code == content; };
  size_t first = 0;
  while (first < start && first < chars.size() && is_content(first)) ++first;
  size_t last = chars.size();
  for (size_t n = 0; n < stop && last > first && is_content(last - 1); ++n) --last;
  const size_t begin = first < chars.size() ? chars[first].first : token.size();
  const size_t end = last < chars.size() ? chars[last].first : token.size();
  return token.substr(begin, end - begin);
}

std::string metaspace(std::string_view token, std::string_view replacement, bool drop) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    if (!replacement.empty() && token.substr(i, replacement.size()) == replacement) {
      if (!drop) out.push_back(' ');
      i += replacement.size();
    } else {
      out.push_back(token[i]);
      ++i;
    }
  }
  return out;
}

}  // namespace

int parse_byte_token(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return -1;
  const int hi = hex_digit(token[3]), lo = hex_digit(token[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

std::string byte_token_name(uint8_t b) { return fmt::format("<0x{:02X}>", b); }

void Decoder::add(Kind kind) {
  Step s;
  s.kind = kind;
  steps_.push_back(std::move(s));
}

void Decoder::add_replace(Pattern pattern, std::string content) {
  Step s;
  s.kind = Kind::Replace;
  s.pattern = std::move(pattern);
  s.text = std::move(content);
  steps_.push_back(std::move(s));
}

void Decoder::add_byte_fallback() { add(Kind::ByteFallback); }
void Decoder::add_fuse() { add(Kind::Fuse); }

void Decoder::add_strip(char32_t content, size_t start, size_t stop) {
  Step s;
  s.kind = Kind::Strip;
  s.strip_char = content;
  s.start = start;
  s.stop = stop;
  steps_.push_back(std::move(s));
}

void Decoder::add_byte_level() { add(Kind::ByteLevel); }

void Decoder::add_metaspace(std::string replacement, PrependScheme scheme) {
  Step s;
  s.kind = Kind::Metaspace;
  s.text = std::move(replacement);
  s.scheme = scheme;
  steps_.push_back(std::move(s));
}

std::string Decoder::run(std::vector<std::string> tokens, bool raw) const {
  if (steps_.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::Replace:
        for (std::string& t : tokens) t = replace_all(step.pattern, t, step.text);
        break;
      case Kind::ByteFallback:
        tokens = byte_fallback(std::move(tokens), raw);
        break;
      case Kind::Fuse:
      case Kind::ByteLevel: {
        std::string joined;
        for (const std::string& t : tokens) {
          if (step.kind == Kind::Fuse) joined += t;
          else byte_level::decode_token(t, joined);
        }
        if (step.kind == Kind::ByteLevel && !raw) joined = utf8::to_valid(joined);
        tokens.assign(1, std::move(joined));
        break;
      }
      case Kind::Strip:
        for (std::string& t : tokens) t = strip(t, step.strip_char, step.start, step.stop);
        break;
      case Kind::Metaspace:
        // tokenizers drops every replacement char of the first token unless the scheme is never.
        for (size_t i = 0; i < tokens.size(); ++i) {
          tokens[i] = metaspace(tokens[i], step.text, i == 0 && step.scheme != PrependScheme::Never);
        }
        break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace kvwb
