#include "ui/models/token_text.h"

#include <fmt/format.h>

#include "engine/tokenizer/utf8.h"

namespace kvwb {

std::string escaped_token_text(std::string_view piece) {
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    const utf8::Char c = utf8::next(piece, i);
    const auto byte = static_cast<unsigned char>(piece[i]);
    if (!c.valid) {
      out += fmt::format("\\x{:02X}", byte);
    } else if (c.code == '\n') {
      out += "\\n";
    } else if (c.code == '\t') {
      out += "\\t";
    } else if (c.code == '\r') {
      out += "\\r";
    } else if (c.code == '\\') {
      out += "\\\\";
    } else if (c.code < 0x20 || c.code == 0x7F || (c.code >= 0x80 && c.code < 0xA0)) {
      out += c.code < 0x100 ? fmt::format("\\x{:02X}", static_cast<unsigned>(c.code)) : fmt::format("\\u{:04X}", static_cast<unsigned>(c.code));
    } else {
      out.append(piece.substr(i, c.size));
    }
    i += c.size;
  }
  return out;
}

}  // namespace kvwb
