#pragma once
// Token strings -> text, as tokenizer.json's `decoder` describes it (Sequence of Replace,
// ByteFallback, Fuse, Strip, ByteLevel, Metaspace). Each step maps the list of token strings to a
// new list; the result is their concatenation.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/regex.h"

namespace kvwb {

class Decoder {
 public:
  void add_replace(Pattern pattern, std::string content);
  void add_byte_fallback();  // "<0xNN>" tokens -> bytes
  void add_fuse();           // join into one string
  void add_strip(char32_t content, size_t start, size_t stop);
  void add_byte_level();     // byte-level characters -> bytes
  void add_metaspace(std::string replacement, PrependScheme scheme);

  // Exact tokenizers semantics, invalid UTF-8 included: a run of byte tokens that is not valid
  // UTF-8 becomes one U+FFFD per byte (ByteFallback), byte-level output is repaired like
  // from_utf8_lossy (ByteLevel). With no step at all, tokens are joined by spaces.
  std::string decode(std::vector<std::string> tokens) const { return run(std::move(tokens), false); }
  // The same bytes before any U+FFFD repair: what streaming needs to tell an unfinished
  // character from a broken one.
  std::string decode_raw(std::vector<std::string> tokens) const { return run(std::move(tokens), true); }

  bool empty() const { return steps_.empty(); }

 private:
  enum class Kind { Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace };
  struct Step {
    Kind kind = Kind::Fuse;
    Pattern pattern;
    std::string text;  // Replace content, Metaspace replacement
    char32_t strip_char = 0;
    size_t start = 0, stop = 0;
    PrependScheme scheme = PrependScheme::Always;
  };
  void add(Kind kind);
  std::string run(std::vector<std::string> tokens, bool raw) const;
  std::vector<Step> steps_;
};

// "<0xNN>" -> the byte (hex digits of either case), or -1 when token is not a byte token.
int parse_byte_token(std::string_view token);
std::string byte_token_name(uint8_t b);  // "<0x0A>"

}  // namespace kvwb
