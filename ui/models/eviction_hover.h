#pragma once
// What hovering a cell of an eviction map says: the head, the token position and its text, the
// cell's state at that step (kept, kept because protected, evicted, not yet in the context)
// and, where the traced request's eviction map has it, the step that evicted the position and
// the score that decided it. Qt-free; the session panel and the live map both use it.
#include <cstdint>
#include <string>

#include "sessions/session_types.h"

namespace kvwb {

// `tokens` and `map` may be null (a session recorded before tokens were stored shows the
// position without text; an untraced request has no scores). `value` is the HeadTimeline cell.
std::string eviction_hover_text(const RequestTokens* tokens, const EvictionMap* map, int layer, int head,
                                int64_t position, int64_t step, double value);

// The same, finding the request's tokens and eviction map in `session`.
std::string eviction_hover_text(const Session& session, const std::string& request_id, int layer, int head,
                                int64_t position, int64_t step, double value);

}  // namespace kvwb
