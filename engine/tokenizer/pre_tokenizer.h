#pragma once
// Pre-tokenization: splits normalized text into the words that BPE encodes one by one, as
// tokenizer.json's `pre_tokenizer` describes (Split, ByteLevel, Metaspace, Digits, Sequence).
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/regex.h"

namespace kvwb {

// What happens to the matches of a Split pattern (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// When Metaspace puts a "▁" in front: every piece, only the piece at the start of the text, never.
enum class PrependScheme { Always, First, Never };

// GPT-2's split regex, which ByteLevel(use_regex: true) uses.
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama-3's split regex (also SmolLM2's and Qwen2's family, up to digit grouping).
inline constexpr std::string_view kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

class PreTokenizer {
 public:
  // Steps run in the order added (a tokenizer.json Sequence flattens into them).
  void add_split(Pattern pattern, SplitBehavior behavior, bool invert);
  // Optionally splits with the GPT-2 regex, then maps every byte to its byte-level character.
  void add_byte_level(bool add_prefix_space, bool use_regex);
  void add_metaspace(std::string replacement, PrependScheme scheme, bool split);
  void add_digits(bool individual);

  // Splits one piece of normalized text into words. `at_text_start`: the piece begins at byte 0
  // of the caller's text (Metaspace's "first" scheme prepends only there).
  std::vector<std::string> apply(std::string_view text, bool at_text_start) const;

  bool empty() const { return steps_.empty(); }
  bool has_metaspace() const;
  bool has_byte_level() const;

 private:
  enum class Kind { Split, ByteLevel, Metaspace };
  struct Step {
    Kind kind = Kind::Split;
    Pattern pattern;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool add_prefix_space = false, use_regex = false;  // ByteLevel
    std::string replacement;                           // Metaspace
    PrependScheme scheme = PrependScheme::Always;
    bool split = true;
  };
  struct Piece {
    std::string text;
    bool at_start;
  };
  static void split_piece(const Piece& piece, const Pattern& pattern, SplitBehavior behavior,
                          bool invert, std::vector<Piece>& out);
  void run_step(const Step& step, std::vector<Piece>& pieces) const;

  std::vector<Step> steps_;
};

}  // namespace kvwb
