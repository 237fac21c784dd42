// The eviction map's token text: control bytes, backslashes and bytes that are not whole UTF-8
// characters come out as escapes; printable text (ASCII or not) as it is. Hand-written cases.
#include <gtest/gtest.h>

#include "ui/models/token_text.h"

namespace kvwb {
namespace {

TEST(TokenText, EscapesControlBytesAndPartialCharacters) {
  EXPECT_EQ(escaped_token_text(" Paris"), " Paris");
  EXPECT_EQ(escaped_token_text("\n\n"), "\\n\\n");
  EXPECT_EQ(escaped_token_text("a\tb\r"), "a\\tb\\r");
  EXPECT_EQ(escaped_token_text("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escaped_token_text(std::string("\x00\x1b\x7f", 3)), "\\x00\\x1B\\x7F");
  EXPECT_EQ(escaped_token_text("caf\xC3\xA9"), "caf\xC3\xA9");         // é, whole
  EXPECT_EQ(escaped_token_text("\xE2\x80"), "\\xE2\\x80");              // the first two bytes of a 3-byte character
  EXPECT_EQ(escaped_token_text("\xC2\x85"), "\\x85");                   // U+0085, a C1 control
  EXPECT_EQ(escaped_token_text(""), "");
}

}  // namespace
}  // namespace kvwb
