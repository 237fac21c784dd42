#include "engine/tokenizer/utf8.h"

namespace kvwb::utf8 {
namespace {

// Expected length and the allowed range of the second byte for a lead byte (Unicode Table 3-7);
// length 0 marks a byte that can never start a character.
struct Lead {
  size_t length;
  unsigned char second_min, second_max;
};

Lead lead_of(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};  // excludes surrogates
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // up to U+10FFFF
  return {0, 0, 0};
}

}  // namespace

size_t subpart_length(std::string_view s, size_t i, bool& complete) {
  const auto b = static_cast<unsigned char>(s[i]);
  const Lead lead = lead_of(b);
  complete = false;
  if (lead.length == 0) return 1;
  if (lead.length == 1) {
    complete = true;
    return 1;
  }
  size_t n = 1;
  while (n < lead.length && i + n < s.size()) {
    const auto c = static_cast<unsigned char>(s[i + n]);
    const bool ok = n == 1 ? (c >= lead.second_min && c <= lead.second_max) : (c >= 0x80 && c <= 0xBF);
    if (!ok) break;
    ++n;
  }
  complete = n == lead.length;
  return n;
}

Char next(std::string_view s, size_t i) {
  bool complete = false;
  const size_t n = subpart_length(s, i, complete);
  if (!complete) return {0, 1, false};
  const auto b = static_cast<unsigned char>(s[i]);
  char32_t code = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) code = (code << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return {code, n, true};
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const Char c = next(s, i);
    if (!c.valid) return false;
    i += c.size;
  }
  return true;
}

std::string to_valid(std::string_view bytes) {
  if (is_valid(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  for (size_t i = 0; i < bytes.size();) {
    bool complete = false;
    const size_t n = subpart_length(bytes, i, complete);
    if (complete) {
      out.append(bytes.substr(i, n));
    } else {
      out.append(kReplacement);
    }
    i += n;
  }
  return out;
}

size_t incomplete_tail(std::string_view s) {
  // A character is at most 4 bytes, so only the last 3 bytes can start an unfinished one.
  const size_t first = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t i = first; i < s.size(); ++i) {
    bool complete = false;
    const size_t n = subpart_length(s, i, complete);
    // Unfinished = a valid prefix that runs into the end of the text.
    if (!complete && i + n == s.size() && lead_of(static_cast<unsigned char>(s[i])).length > n) {
      return s.size() - i;
    }
  }
  return 0;
}

void append(std::string& out, char32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

}  // namespace kvwb::utf8
