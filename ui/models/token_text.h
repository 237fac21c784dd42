#pragma once
// A token's text as one line of a tooltip: control bytes, backslashes and bytes that are not
// whole UTF-8 characters (a byte-level piece may hold part of one) written as escapes, so a
// newline or a stray byte shows as "\n" or "\xE2" instead of breaking or garbling the line.
#include <string>
#include <string_view>

namespace kvwb {

std::string escaped_token_text(std::string_view piece);

}  // namespace kvwb
