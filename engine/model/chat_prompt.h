#pragma once
// Chat prompts for a loaded model: its chat template (chat_template.h) rendered with its
// tokenizer's BOS/EOS texts, then encoded. Used by workload requests with `messages` and by
// `kvwb-cli generate --chat`.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/model.h"
#include "engine/tokenizer/chat_template.h"

namespace kvwb {

// The prompt text, ending with the assistant's header. Throws Error naming the model when it
// has no chat template or one kvwb does not recognise.
std::string render_chat(const Model& model, const std::vector<ChatTurn>& messages);

// render_chat, encoded. The template writes BOS itself where the family needs it, so no
// second BOS is added (as transformers' apply_chat_template(tokenize=True)).
std::vector<int32_t> chat_tokens(const Model& model, const std::vector<ChatTurn>& messages);

}  // namespace kvwb
