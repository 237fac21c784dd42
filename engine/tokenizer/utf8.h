#pragma once
// UTF-8 helpers for the tokenizers: walking characters (invalid bytes count as one-byte units),
// repairing invalid text the way Rust's String::from_utf8_lossy does, and finding where a
// byte stream stops being complete (for streaming decode).
#include <cstddef>
#include <string>
#include <string_view>

namespace kvwb::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Char {
  char32_t code = 0;  // the code point; meaningless when !valid
  size_t size = 1;    // bytes taken: a whole character, or one invalid byte
  bool valid = false;
};

// The character starting at byte i (i < s.size()). An invalid or truncated sequence yields
// {valid=false, size=1}.
Char next(std::string_view s, size_t i);

// Length of the maximal prefix of a valid sequence that starts at byte i: the number of bytes
// one U+FFFD stands for when the sequence is invalid (Unicode's "maximal subpart" rule).
// `complete` is set when the bytes at i form a whole valid character.
size_t subpart_length(std::string_view s, size_t i, bool& complete);

bool is_valid(std::string_view s);

// Replaces every maximal invalid subpart by one U+FFFD; valid text is returned unchanged.
std::string to_valid(std::string_view bytes);

// Bytes at the end of s that begin a valid character whose remaining bytes have not arrived
// yet (0 to 3). Such a tail may still become valid; anything else before it is final.
size_t incomplete_tail(std::string_view s);

void append(std::string& out, char32_t code);

// Unicode White_Space (what Rust's char::is_whitespace tests).
bool is_whitespace(char32_t code);

}  // namespace kvwb::utf8
