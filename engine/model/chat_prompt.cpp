#include "engine/model/chat_prompt.h"

namespace kvwb {
namespace {

std::string token_text(const Tokenizer& tok, int32_t id) {
  if (id < 0) return {};
  const int32_t ids[] = {id};
  return tok.decode(ids, false);
}

}  // namespace

std::string render_chat(const Model& model, const std::vector<ChatTurn>& messages) {
  const ChatTemplate tmpl = ChatTemplate::recognise_or_fail(model.chat_template, model.path);
  const Tokenizer& tok = *model.tokenizer;
  const std::string bos = token_text(tok, tok.bos_id());
  const std::string eos = tok.eos_ids().empty() ? std::string() : token_text(tok, tok.eos_ids().front());
  return tmpl.render(messages, true, bos, eos, model.path);
}

std::vector<int32_t> chat_tokens(const Model& model, const std::vector<ChatTurn>& messages) {
  return model.tokenizer->encode(render_chat(model, messages), false);
}

}  // namespace kvwb
