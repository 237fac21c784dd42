#pragma once
// GPT-2's byte-level alphabet: every byte gets a printable character, so that byte-level BPE
// vocabularies are plain strings. Printable Latin-1 bytes map to themselves; the others
// (controls, space, 0x7F-0xA0, 0xAD) map to U+0100 onwards in byte order ("Ġ" is the space).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvwb::byte_level {

// The character that stands for byte b.
char32_t char_of(uint8_t b);

// The byte a character stands for, or nothing for a character outside the alphabet.
std::optional<uint8_t> byte_of(char32_t c);

// Maps each byte of text to its character (UTF-8 encoded).
std::string encode(std::string_view bytes);

// Maps a token back to bytes. Like tokenizers' ByteLevel decoder, a token holding any character
// outside the alphabet (an added token such as "<｜end｜>") is kept as its own UTF-8 bytes.
void decode_token(std::string_view token, std::string& out);

}  // namespace kvwb::byte_level
