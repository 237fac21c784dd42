// Chat templates: kvwb's renderer against jinja2 rendering the published templates of each
// family (tests/fixtures/chat_templates/goldens.json, tools/make_chat_template_goldens.py),
// including the conversations a template rejects; recognition and its errors.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/chat_template.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace kvwb {
namespace {

const Json& goldens() {
  static const Json g = read_json_file(test::source_dir() + "/tests/fixtures/chat_templates/goldens.json");
  return g;
}

TEST(ChatTemplate, RendersAsJinjaDoesForEveryFamily) {
  const std::map<std::string, ChatFamily> family{{"smollm2", ChatFamily::ChatML}, {"qwen2", ChatFamily::ChatML},
                                                 {"chatml", ChatFamily::ChatML},  {"llama3", ChatFamily::Llama3},
                                                 {"llama2", ChatFamily::Llama2},  {"mistral", ChatFamily::Mistral}};
  int rendered = 0, rejected = 0;
  for (const auto& [name, t] : goldens().at("templates").items()) {
    const std::optional<ChatTemplate> tmpl = ChatTemplate::recognise(t.at("source").get<std::string>());
    ASSERT_TRUE(tmpl) << name;
    EXPECT_EQ(tmpl->family(), family.at(name)) << name;
    const std::string bos = t.at("bos").get<std::string>(), eos = t.at("eos").get<std::string>();
    for (const auto& c : t.at("cases")) {
      std::vector<ChatTurn> turns;
      for (const auto& m : c.at("messages")) turns.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
      if (c.contains("rendered")) {
        EXPECT_EQ(tmpl->render(turns, true, bos, eos, "m"), c.at("rendered").get<std::string>()) << name;
        ++rendered;
      } else {  // the template raises: kvwb refuses too, naming the model
        try {
          tmpl->render(turns, true, bos, eos, "my-model");
          ADD_FAILURE() << name << ": rendered a conversation the template rejects: " << c.at("error");
        } catch (const Error& e) {
          EXPECT_EQ(std::string(e.what()).rfind("my-model: the ", 0), 0u) << e.what();
        }
        ++rejected;
      }
    }
  }
  EXPECT_GE(rendered, 20);
  EXPECT_GE(rejected, 4);
}

TEST(ChatTemplate, DefaultSystemMessagesAreReadFromTheTemplate) {
  const auto& t = goldens().at("templates");
  EXPECT_EQ(ChatTemplate::recognise(t.at("smollm2").at("source").get<std::string>())->default_system(),
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  EXPECT_EQ(ChatTemplate::recognise(t.at("qwen2").at("source").get<std::string>())->default_system(),
            "You are a helpful assistant.");
  EXPECT_FALSE(ChatTemplate::recognise(t.at("chatml").at("source").get<std::string>())->default_system());
  // A system block that splices in the first message is not a default.
  const std::string spliced = "{{ '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>' }}";
  EXPECT_FALSE(ChatTemplate::recognise(spliced)->default_system());
}

TEST(ChatTemplate, UnknownTemplatesAreClearErrorsNamingTheModel) {
  EXPECT_FALSE(ChatTemplate::recognise("{% for m in messages %}<start_of_turn>{{ m['content'] }}{% endfor %}"));
  // Llama-3.1 writes a knowledge-date system block the Llama-3.0 rendering would miss.
  EXPECT_FALSE(ChatTemplate::recognise("{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
                                       "{{- 'Cutting Knowledge Date: December 2023\\n' }}"));
  try {
    ChatTemplate::recognise_or_fail("{{ gemma }}", "models/x.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("models/x.gguf: chat template not recognised", 0), 0u) << e.what();
  }
  try {
    ChatTemplate::recognise_or_fail("", "models/demo");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "models/demo: has no chat template, so chat requests ('messages', --chat) cannot be rendered; use a plain prompt");
  }
}

TEST(ChatTemplate, NoMessagesIsAnError) {
  const ChatTemplate t = *ChatTemplate::recognise("<|im_start|>");
  EXPECT_THROW(t.render({}, true, "", "", "m"), Error);
  // Without the generation prompt the assistant header is left out.
  EXPECT_EQ(t.render({{"user", "x"}}, false, "", "", "m"), "<|im_start|>user\nx<|im_end|>\n");
}

}  // namespace
}  // namespace kvwb
