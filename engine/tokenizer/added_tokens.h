#pragma once
// Added tokens (tokenizer.json's `added_tokens`): matched in the text before BPE, leftmost
// first and longest on ties, like tokenizers' AddedVocabulary. Tokens with normalized=false are
// matched in the raw text; tokens with normalized=true in the normalized text, against their
// own normalized content.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/normalizer.h"

namespace kvwb {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;     // skipped by decode(skip_special); is_special()
  bool normalized = false;  // matched after normalization (tokenizers' default: !special)
  bool lstrip = false;      // swallows whitespace on its left
  bool rstrip = false;      // swallows whitespace on its right
  bool single_word = false; // only matches outside words
};

// A run of text in a piece: plain text (id -1) or one added token.
struct TextPiece {
  size_t begin, end;  // bytes
  int32_t id;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalizer` turns the content of normalized tokens into the form they match.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer& normalizer);

  // Splits text on the raw-matched tokens (normalized=false).
  std::vector<TextPiece> split_raw(std::string_view text) const { return split(text, raw_); }
  // Splits normalized text on the normalized-matched tokens.
  std::vector<TextPiece> split_normalized(std::string_view text) const { return split(text, normalized_); }

  const AddedToken* find(int32_t id) const;
  int32_t id_of(std::string_view content) const;  // -1 when absent
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

 private:
  struct Matcher {
    std::vector<std::string> patterns;
    std::vector<size_t> token_index;                       // pattern -> tokens_
    std::array<std::vector<size_t>, 256> by_first_byte;    // pattern indices, longest first
    bool empty() const { return patterns.empty(); }
  };
  static void build(Matcher& m);
  std::vector<TextPiece> split(std::string_view text, const Matcher& m) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  StringMap<int32_t> by_content_;
  Matcher raw_, normalized_;
};

}  // namespace kvwb
