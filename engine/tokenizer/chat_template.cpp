// Chat template families: recognition by distinctive substrings and rendering that follows the
// Jinja source of each family's reference template (see chat_template.h).
#include "engine/tokenizer/chat_template.h"

#include "engine/core/error.h"

namespace kvwb {
namespace {

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Python's str.strip() (Jinja's `trim` and `.strip()`) for ASCII whitespace, which is what chat
// text has at its ends in practice. (Unicode spaces such as U+00A0 are kept: a known limit.)
std::string strip(std::string_view s) {
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); };
  size_t b = 0, e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// A ChatML template's built-in system message: the text of a string literal that reads
// "<|im_start|>system\n<text><|im_end|>" (the newline written as is or as the escape "\n").
// A system block that splices in messages[0]['content'] ends its literal before <|im_end|>,
// so it is not mistaken for a default.
std::optional<std::string> chatml_default_system(std::string_view jinja) {
  constexpr std::string_view kStart = "<|im_start|>system";
  constexpr std::string_view kEnd = "<|im_end|>";
  for (size_t at = jinja.find(kStart); at != std::string_view::npos; at = jinja.find(kStart, at + 1)) {
    size_t text = at + kStart.size();
    if (jinja.substr(text, 1) == "\n") {
      text += 1;
    } else if (jinja.substr(text, 2) == "\\n") {
      text += 2;
    } else {
      continue;
    }
    const size_t end = jinja.find(kEnd, text);
    if (end == std::string_view::npos) continue;
    const std::string_view body = jinja.substr(text, end - text);
    if (body.empty() || body.find_first_of("'\"{}") != std::string_view::npos) continue;
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {  // undo the Jinja string escapes a default may use
      if (body[i] == '\\' && i + 1 < body.size() && (body[i + 1] == 'n' || body[i + 1] == '\\')) {
        out += body[i + 1] == 'n' ? '\n' : '\\';
        ++i;
      } else {
        out += body[i];
      }
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::string_view chat_family_name(ChatFamily family) {
  switch (family) {
    case ChatFamily::ChatML: return "ChatML";
    case ChatFamily::Llama2: return "Llama-2";
    case ChatFamily::Llama3: return "Llama-3";
    case ChatFamily::Mistral: return "Mistral";
  }
  return "?";
}

std::optional<ChatTemplate> ChatTemplate::recognise(std::string_view jinja) {
  if (contains(jinja, "<|im_start|>")) {
    ChatTemplate t(ChatFamily::ChatML);
    t.default_system_ = chatml_default_system(jinja);
    return t;
  }
  if (contains(jinja, "<|start_header_id|>")) {
    // Llama-3.1 and later always write a system block with a knowledge date (and tool
    // support): a different template that this family's rendering would get wrong.
    if (contains(jinja, "Cutting Knowledge Date")) return std::nullopt;
    return ChatTemplate(ChatFamily::Llama3);
  }
  if (contains(jinja, "[INST]")) return ChatTemplate(contains(jinja, "<<SYS>>") ? ChatFamily::Llama2 : ChatFamily::Mistral);
  return std::nullopt;
}

ChatTemplate ChatTemplate::recognise_or_fail(std::string_view jinja, const std::string& model) {
  if (jinja.empty()) fail(model, "has no chat template, so chat requests ('messages', --chat) cannot be rendered; use a plain prompt");
  if (std::optional<ChatTemplate> t = recognise(jinja)) return *t;
  fail(model,
       "chat template not recognised (kvwb renders ChatML, Llama-2 [INST] <<SYS>>, Llama-3.0 header and Mistral [INST] "
       "templates); use a plain prompt. The template begins: {}",
       std::string(jinja.substr(0, 80)));
}

std::string ChatTemplate::render(const std::vector<ChatTurn>& messages, bool add_generation_prompt,
                                 std::string_view bos, std::string_view eos, const std::string& model) const {
  if (messages.empty()) fail(model, "a chat request needs at least one message");
  switch (family_) {
    case ChatFamily::ChatML: return render_chatml(messages, add_generation_prompt);
    case ChatFamily::Llama3: return render_llama3(messages, add_generation_prompt, bos);
    case ChatFamily::Llama2:
    case ChatFamily::Mistral: return render_inst(messages, bos, eos, model);
  }
  return {};
}

std::string ChatTemplate::render_chatml(const std::vector<ChatTurn>& messages, bool add_generation_prompt) const {
  std::string out;
  if (default_system_ && messages.front().role != "system") {
    out += "<|im_start|>system\n" + *default_system_ + "<|im_end|>\n";
  }
  for (const ChatTurn& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string ChatTemplate::render_llama3(const std::vector<ChatTurn>& messages, bool add_generation_prompt,
                                        std::string_view bos) const {
  std::string out(bos);
  for (const ChatTurn& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + strip(m.content) + "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Llama-2 and Mistral: [INST] turns; the template itself ends with " [/INST]", so there is no
// separate generation prompt.
std::string ChatTemplate::render_inst(const std::vector<ChatTurn>& messages, std::string_view bos,
                                      std::string_view eos, const std::string& model) const {
  size_t first = 0;
  std::string system;
  // Llama-2 folds a leading system message into the first user turn; Mistral's template
  // (v0.1) rejects it (the role check below then fails on it, as the template raises).
  const bool has_system = family_ == ChatFamily::Llama2 && messages.front().role == "system";
  if (has_system) {
    system = messages.front().content;
    first = 1;
  }
  std::string out(family_ == ChatFamily::Mistral ? bos : std::string_view());
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatTurn& m = messages[i];
    const bool expect_user = (i - first) % 2 == 0;
    if (m.role != "user" && m.role != "assistant")
      fail(model, "the {} chat template has no place for a '{}' message (message {})", chat_family_name(family_),
           m.role, i + 1);
    if ((m.role == "user") != expect_user)
      fail(model, "the {} chat template needs roles that alternate user/assistant/user/...; message {} is '{}'",
           chat_family_name(family_), i + 1, m.role);
    std::string content = m.content;
    if (family_ == ChatFamily::Llama2) {
      if (i == first && has_system) content = std::string("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n").append(content);
      if (m.role == "user") {
        out.append(bos).append("[INST] ").append(strip(content)).append(" [/INST]");
      } else {
        out.append(" ").append(strip(content)).append(" ").append(eos);
      }
    } else {
      if (m.role == "user") {
        out.append("[INST] ").append(content).append(" [/INST]");
      } else {
        out.append(content).append(eos);
      }
    }
  }
  if (messages.size() == first) fail(model, "a chat request needs a user message after the system message");
  return out;
}

}  // namespace kvwb
