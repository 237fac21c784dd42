#include "engine/tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "engine/tokenizer/byte_level.h"

namespace kvwb {
namespace {

struct Segment {
  Span span;
  bool is_match;
};

// The whole text as alternating non-match / match segments (tokenizers' find_matches).
std::vector<Segment> segments(std::string_view text, const Pattern& pattern, bool invert) {
  std::vector<Segment> out;
  if (text.empty()) return {{{0, 0}, invert}};
  size_t prev = 0;
  for (const auto& [begin, end] : pattern.find_all(text)) {
    if (prev != begin) out.push_back({{prev, begin}, invert});
    out.push_back({{begin, end}, !invert});
    prev = end;
  }
  if (prev != text.size()) out.push_back({{prev, text.size()}, invert});
  return out;
}

// Applies a split behavior to the segments; returns the spans to keep.
std::vector<Span> apply_behavior(const std::vector<Segment>& segs, SplitBehavior behavior) {
  std::vector<Span> out;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Segment& s : segs) {
        if (!s.is_match) out.push_back(s.span);
      }
      break;
    case SplitBehavior::Isolated:
      for (const Segment& s : segs) out.push_back(s.span);
      break;
    case SplitBehavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Segment& s : segs) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().second = s.span.second;
        } else {
          out.push_back(s.span);
        }
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      // Walk backwards so that a match joins the segment after it.
      bool previous_match = false;
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().first = it->span.first;
        } else {
          out.push_back(it->span);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case SplitBehavior::Contiguous: {
      bool previous_match = false;
      for (const Segment& s : segs) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().second = s.span.second;
        } else {
          out.push_back(s.span);
        }
        previous_match = s.is_match;
      }
      break;
    }
  }
  return out;
}

const Pattern& gpt2_pattern() {
  static const Pattern p = Pattern::regex(kGpt2SplitPattern, "GPT-2 split regex");
  return p;
}

std::string replace_spaces(std::string_view text, std::string_view replacement) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    if (c == ' ') out.append(replacement);
    else out.push_back(c);
  }
  return out;
}

}  // namespace

void PreTokenizer::add_split(Pattern pattern, SplitBehavior behavior, bool invert) {
  Step step;
  step.kind = Kind::Split;
  step.pattern = std::move(pattern);
  step.behavior = behavior;
  step.invert = invert;
  steps_.push_back(std::move(step));
}

void PreTokenizer::add_byte_level(bool add_prefix_space, bool use_regex) {
  Step step;
  step.kind = Kind::ByteLevel;
  step.add_prefix_space = add_prefix_space;
  step.use_regex = use_regex;
  steps_.push_back(std::move(step));
}

void PreTokenizer::add_metaspace(std::string replacement, PrependScheme scheme, bool split) {
  Step step;
  step.kind = Kind::Metaspace;
  step.pattern = Pattern::literal(replacement);
  step.replacement = std::move(replacement);
  step.scheme = scheme;
  step.split = split;
  steps_.push_back(std::move(step));
}

void PreTokenizer::add_digits(bool individual) {
  // tokenizers splits on char::is_numeric (Unicode N); runs of digits stay together unless
  // individual_digits is set.
  add_split(Pattern::regex(individual ? "\\p{N}" : "\\p{N}+", "Digits pre-tokenizer"),
            SplitBehavior::Isolated, false);
}

void PreTokenizer::split_piece(const Piece& piece, const Pattern& pattern, SplitBehavior behavior,
                               bool invert, std::vector<Piece>& out) {
  for (const auto& [begin, end] : apply_behavior(segments(piece.text, pattern, invert), behavior)) {
    if (begin == end) continue;  // tokenizers drops empty splits
    out.push_back({piece.text.substr(begin, end - begin), piece.at_start && begin == 0});
  }
}

void PreTokenizer::run_step(const Step& step, std::vector<Piece>& pieces) const {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& piece : pieces) {
    switch (step.kind) {
      case Kind::Split:
        split_piece(piece, step.pattern, step.behavior, step.invert, out);
        break;
      case Kind::ByteLevel: {
        if (step.add_prefix_space && piece.text.rfind(' ', 0) != 0) piece.text = " " + piece.text;
        std::vector<Piece> words;
        if (step.use_regex) {
          split_piece(piece, gpt2_pattern(), SplitBehavior::Isolated, false, words);
        } else if (!piece.text.empty()) {
          words.push_back(std::move(piece));
        }
        for (Piece& w : words) out.push_back({byte_level::encode(w.text), w.at_start});
        break;
      }
      case Kind::Metaspace: {
        piece.text = replace_spaces(piece.text, step.replacement);
        const bool starts = piece.text.rfind(step.replacement, 0) == 0;
        const bool prepend = step.scheme == PrependScheme::Always ||
                             (step.scheme == PrependScheme::First && piece.at_start);
        if (prepend && !starts) piece.text.insert(0, step.replacement);
        if (step.split) {
          split_piece(piece, step.pattern, SplitBehavior::MergedWithNext, false, out);
        } else if (!piece.text.empty()) {
          out.push_back(std::move(piece));
        }
        break;
      }
    }
  }
  pieces = std::move(out);
}

std::vector<std::string> PreTokenizer::apply(std::string_view text, bool at_text_start) const {
  std::vector<Piece> pieces{{std::string(text), at_text_start}};
  for (const Step& step : steps_) run_step(step, pieces);
  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (Piece& p : pieces) {
    if (!p.text.empty()) words.push_back(std::move(p.text));
  }
  return words;
}

bool PreTokenizer::has_metaspace() const {
  for (const Step& s : steps_) {
    if (s.kind == Kind::Metaspace) return true;
  }
  return false;
}

bool PreTokenizer::has_byte_level() const {
  for (const Step& s : steps_) {
    if (s.kind == Kind::ByteLevel) return true;
  }
  return false;
}

}  // namespace kvwb
