#pragma once
// Text normalization before pre-tokenization, as tokenizer.json's `normalizer` describes it.
// Applied to each piece of text between added tokens (tokenizers does the same), so Llama-2's
// Prepend("▁") puts a "▁" at the start of every such piece.
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/regex.h"

namespace kvwb {

class Normalizer {
 public:
  // Steps run in the order added (a tokenizer.json Sequence flattens into them).
  void add_prepend(std::string prefix);                    // only on non-empty text
  void add_replace(Pattern pattern, std::string content);  // every match
  void add_strip(bool left, bool right);                   // Unicode whitespace
  // NFC normalization needs Unicode tables we do not carry: it is accepted and treated as the
  // identity, which is exact for text already in NFC (nearly all text; see tokenizer.h).
  void add_nfc() { has_nfc_ = true; }

  std::string apply(std::string_view text) const;
  bool empty() const { return steps_.empty(); }
  // Whether a step prepends text (Llama-2's "▁"): a sign of the SentencePiece family.
  bool prepends() const;
  bool has_nfc() const { return has_nfc_; }

 private:
  enum class Kind { Prepend, Replace, Strip };
  struct Step {
    Kind kind = Kind::Prepend;
    std::string text;  // prefix or replacement
    Pattern pattern;
    bool left = false, right = false;
  };
  std::vector<Step> steps_;
  bool has_nfc_ = false;
};

}  // namespace kvwb
