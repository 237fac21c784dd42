#include "ui/models/eviction_hover.h"

#include <cmath>

#include <fmt/format.h>

#include "ui/models/session_replay.h"
#include "ui/models/token_text.h"

namespace kvwb {

std::string eviction_hover_text(const RequestTokens* tokens, const EvictionMap* map, int layer, int head,
                                int64_t position, int64_t step, double value) {
  std::string text = fmt::format("layer {}, KV head {}, position {}", layer, head, position);
  if (tokens != nullptr && position >= 0 && static_cast<size_t>(position) < tokens->pieces.size()) {
    const auto p = static_cast<size_t>(position);
    text += fmt::format(" \"{}\" (token {}, {})", escaped_token_text(tokens->pieces[p]), tokens->ids[p],
                        position < tokens->prompt_tokens ? "prompt" : "generated");
  }
  const char* state = std::isnan(value)                      ? "not in the context"
                      : value == HeadTimeline::kProtected ? "kept, protected (sink or recent window)"
                      : value == HeadTimeline::kKept      ? "kept"
                                                          : "evicted";
  text += fmt::format(", step {}: {}", step, state);
  if (map == nullptr) return text;
  for (const HeadEvictions& h : map->heads) {
    if (h.layer != layer || h.head != head || position < 0 || static_cast<size_t>(position) >= h.evicted_at_step.size()) {
      continue;
    }
    const int32_t at = h.evicted_at_step[static_cast<size_t>(position)];
    if (at < 0) continue;
    text += fmt::format("; evicted at step {}", at);
    const float score = h.scores[static_cast<size_t>(position)];
    if (!std::isnan(score)) text += fmt::format(", score {:.4g}", static_cast<double>(score));
  }
  return text;
}

std::string eviction_hover_text(const Session& session, const std::string& request_id, int layer, int head,
                                int64_t position, int64_t step, double value) {
  const RequestTokens* tokens = nullptr;
  for (const RequestTokens& t : session.tokens) {
    if (t.request_id == request_id) tokens = &t;
  }
  const EvictionMap* map = nullptr;
  for (const EvictionMap& m : session.eviction_maps) {
    if (m.request_id == request_id) map = &m;
  }
  return eviction_hover_text(tokens, map, layer, head, position, step, value);
}

}  // namespace kvwb
