#pragma once
// Chat templates. Models ship theirs as Jinja source (GGUF `tokenizer.chat_template`, HF
// tokenizer_config.json `chat_template`); no C++ Jinja engine is packaged, so kvwb recognises
// the common families by distinctive substrings and renders them itself:
//   ChatML  (<|im_start|>: SmolLM2, Qwen2, ...): "<|im_start|>{role}\n{content}<|im_end|>\n"
//           per message; a default system message when the template injects one (SmolLM2's
//           "You are a helpful AI assistant named SmolLM, ..."; Qwen2's "You are a helpful
//           assistant."), read from the template itself.
//   Llama-3 (<|start_header_id|>): "<|start_header_id|>{role}<|end_header_id|>\n\n{content
//           stripped}<|eot_id|>" after BOS.
//   Llama-2 (<<SYS>> and [INST]): "<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]
//           {assistant} </s>..." with user/assistant alternating.
//   Mistral ([INST] without <<SYS>>, v0.1): "<s>[INST] {user} [/INST]{assistant}</s>..."; like
//           the template, kvwb rejects system messages and roles that do not alternate.
// Rendering equals what transformers' apply_chat_template produces from the same template
// (checked by goldens rendered with jinja2, tests/fixtures/chat_templates/).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvwb {

struct ChatTurn {
  std::string role;  // system | user | assistant
  std::string content;
};

enum class ChatFamily { ChatML, Llama2, Llama3, Mistral };
std::string_view chat_family_name(ChatFamily family);

class ChatTemplate {
 public:
  // The family of a Jinja template, or nullopt when no known family fits.
  static std::optional<ChatTemplate> recognise(std::string_view jinja);
  // The same, but throws Error("<model>: ...") when the model has no template or an unknown one.
  static ChatTemplate recognise_or_fail(std::string_view jinja, const std::string& model);

  // The prompt text for `messages` (ending with the assistant's header when
  // add_generation_prompt). bos/eos are the tokenizer's BOS and EOS token texts, written where
  // the template writes bos_token / eos_token. Throws Error("<model>: ...") for roles the
  // family cannot express (e.g. Llama-2 messages that do not alternate user/assistant).
  std::string render(const std::vector<ChatTurn>& messages, bool add_generation_prompt, std::string_view bos,
                     std::string_view eos, const std::string& model) const;

  ChatFamily family() const { return family_; }
  // ChatML only: the system message the template adds when the first message is not one.
  const std::optional<std::string>& default_system() const { return default_system_; }

 private:
  explicit ChatTemplate(ChatFamily family) : family_(family) {}
  std::string render_chatml(const std::vector<ChatTurn>& messages, bool add_generation_prompt) const;
  std::string render_llama3(const std::vector<ChatTurn>& messages, bool add_generation_prompt,
                            std::string_view bos) const;
  std::string render_inst(const std::vector<ChatTurn>& messages, std::string_view bos, std::string_view eos,
                          const std::string& model) const;

  ChatFamily family_;
  std::optional<std::string> default_system_;
};

}  // namespace kvwb
