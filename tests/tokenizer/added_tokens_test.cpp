// Added-token matching: leftmost, then longest; lstrip/rstrip/single_word; normalized tokens.
#include <gtest/gtest.h>

#include "engine/tokenizer/added_tokens.h"

namespace kvwb {
namespace {

AddedToken token(int32_t id, std::string content) {
  AddedToken t;
  t.id = id;
  t.content = std::move(content);
  t.special = true;
  return t;
}

// Renders pieces as "text|<id>|text" for compact expectations.
std::string render(std::string_view text, const std::vector<TextPiece>& pieces) {
  std::string out;
  for (const TextPiece& p : pieces) {
    if (!out.empty()) out += "|";
    if (p.id >= 0) {
      out += '#';
      out += std::to_string(p.id);
    } else {
      out += text.substr(p.begin, p.end - p.begin);
    }
  }
  return out;
}

TEST(AddedTokens, LeftmostThenLongest) {
  const AddedVocabulary v({token(1, "<a>"), token(2, "<a><b>"), token(3, "ab"), token(4, "bcd")}, Normalizer{});
  EXPECT_EQ(render("x<a><b>y<a>", v.split_raw("x<a><b>y<a>")), "x|#2|y|#1");
  EXPECT_EQ(render("abcd", v.split_raw("abcd")), "#3|cd");  // "ab" starts first, "bcd" is not tried
  EXPECT_EQ(render("plain", v.split_raw("plain")), "plain");
  EXPECT_TRUE(v.split_raw("").empty());
}

TEST(AddedTokens, LstripAndRstripSwallowWhitespace) {
  AddedToken mask = token(5, "<mask>");
  mask.lstrip = true;
  AddedToken end = token(6, "<end>");
  end.rstrip = true;
  const AddedVocabulary v({mask, end}, Normalizer{});
  const std::string text = "a  <mask> b<end>  c";
  EXPECT_EQ(render(text, v.split_raw(text)), "a|#5| b|#6|c");
  const auto pieces = v.split_raw(text);
  EXPECT_EQ(pieces[1].begin, 1u);  // the two spaces belong to <mask>
}

TEST(AddedTokens, SingleWordOnlyMatchesOutsideWords) {
  AddedToken ok = token(7, "ok");
  ok.single_word = true;
  const AddedVocabulary v({ok}, Normalizer{});
  EXPECT_EQ(render("ok fine", v.split_raw("ok fine")), "#7| fine");
  EXPECT_EQ(render("okay", v.split_raw("okay")), "okay");
  EXPECT_EQ(render("book ok", v.split_raw("book ok")), "book |#7");
}

TEST(AddedTokens, NormalizedTokensMatchTheirNormalizedForm) {
  Normalizer n;
  n.add_prepend("\xE2\x96\x81");
  AddedToken note = token(8, "[note]");
  note.normalized = true;
  note.special = false;
  const AddedVocabulary v({note, token(9, "<s>")}, n);
  // Raw matching sees only <s>; the normalized form of [note] is "▁[note]".
  EXPECT_EQ(render("<s>[note]", v.split_raw("<s>[note]")), "#9|[note]");
  const std::string normalized = n.apply("x [note]");  // "▁x [note]": no ▁ before [note]
  EXPECT_EQ(render(normalized, v.split_normalized(normalized)), normalized);
  const std::string spaced = "\xE2\x96\x81[note]!";
  EXPECT_EQ(render(spaced, v.split_normalized(spaced)), "#8|!");
  EXPECT_EQ(v.id_of("[note]"), 8);
  EXPECT_EQ(v.find(9)->content, "<s>");
  EXPECT_EQ(v.find(10), nullptr);
}

}  // namespace
}  // namespace kvwb
