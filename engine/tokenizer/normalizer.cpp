#include "engine/tokenizer/normalizer.h"

#include "engine/tokenizer/utf8.h"

namespace kvwb {
namespace {

std::string strip(std::string_view text, bool left, bool right) {
  size_t begin = 0, end = text.size();
  if (left) {
    while (begin < end) {
      const utf8::Char c = utf8::next(text, begin);
      if (!c.valid || !utf8::is_whitespace(c.code)) break;
      begin += c.size;
    }
  }
  if (right) {
    // Walk forward remembering where the trailing whitespace run starts.
    size_t run = end;
    for (size_t i = begin; i < end;) {
      const utf8::Char c = utf8::next(text, i);
      const bool space = c.valid && utf8::is_whitespace(c.code);
      if (!space) run = end;
      else if (run == end) run = i;
      i += c.size;
    }
    end = run;
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

void Normalizer::add_prepend(std::string prefix) {
  Step s;
  s.kind = Kind::Prepend;
  s.text = std::move(prefix);
  steps_.push_back(std::move(s));
}

void Normalizer::add_replace(Pattern pattern, std::string content) {
  Step s;
  s.kind = Kind::Replace;
  s.text = std::move(content);
  s.pattern = std::move(pattern);
  steps_.push_back(std::move(s));
}

void Normalizer::add_strip(bool left, bool right) {
  Step s;
  s.kind = Kind::Strip;
  s.left = left;
  s.right = right;
  steps_.push_back(std::move(s));
}

std::string Normalizer::apply(std::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::Prepend:
        if (!s.empty()) s.insert(0, step.text);
        break;
      case Kind::Replace:
        s = replace_all(step.pattern, s, step.text);
        break;
      case Kind::Strip:
        s = strip(s, step.left, step.right);
        break;
    }
  }
  return s;
}

bool Normalizer::prepends() const {
  for (const Step& step : steps_) {
    if (step.kind == Kind::Prepend) return true;
  }
  return false;
}

}  // namespace kvwb
