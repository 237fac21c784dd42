#include "engine/tokenizer/byte_level.h"

#include <unordered_map>

#include "engine/tokenizer/utf8.h"

namespace kvwb::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> chars{};
  std::array<std::string, 256> encoded;
  std::unordered_map<char32_t, uint8_t> bytes;
};

const Tables& tables() {
  static const Tables t = [] {
    Tables t;
    char32_t next_extra = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t.chars[b] = printable ? static_cast<char32_t>(b) : next_extra++;
      utf8::append(t.encoded[b], t.chars[b]);
      t.bytes[t.chars[b]] = static_cast<uint8_t>(b);
    }
    return t;
  }();
  return t;
}

}  // namespace

char32_t char_of(uint8_t b) { return tables().chars[b]; }

std::optional<uint8_t> byte_of(char32_t c) {
  const auto& bytes = tables().bytes;
  auto it = bytes.find(c);
  if (it == bytes.end()) return std::nullopt;
  return it->second;
}

std::string encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) out += t.encoded[static_cast<uint8_t>(b)];
  return out;
}

void decode_token(std::string_view token, std::string& out) {
  const size_t mark = out.size();
  for (size_t i = 0; i < token.size();) {
    const utf8::Char c = utf8::next(token, i);
    const std::optional<uint8_t> b = c.valid ? byte_of(c.code) : std::nullopt;
    if (!b) {
      out.resize(mark);
      out.append(token);
      return;
    }
    out.push_back(static_cast<char>(*b));
    i += c.size;
  }
}

}  // namespace kvwb::byte_level
