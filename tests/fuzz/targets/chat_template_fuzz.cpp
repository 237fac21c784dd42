// Chat templates: recognising a family from Jinja source and rendering with it. The input is
// the template, optionally followed by a NUL byte and message text used as every content.
#include <cstring>
#include <string>

#include "engine/tokenizer/chat_template.h"
#include "tests/fuzz/fuzz_support.h"

using namespace kvwb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string jinja = input.substr(0, nul);
  const std::string content = nul == std::string::npos ? "Hello there" : input.substr(nul + 1);
  const std::optional<ChatTemplate> t = ChatTemplate::recognise(jinja);
  if (!t) {
    try {
      (void)ChatTemplate::recognise_or_fail(jinja, "fuzz-model");
      fuzz::require(false, "recognise_or_fail accepts what recognise rejects");
    } catch (const Error& e) {
      fuzz::require(std::string(e.what()).find("fuzz-model") != std::string::npos, "the error names the model");
    }
    return 0;
  }
  const std::vector<std::vector<ChatTurn>> conversations{
      {},
      {{"user", content}},
      {{"system", content}, {"user", content}},
      {{"user", content}, {"assistant", content}, {"user", content}},
      {{"system", content}, {"system", content}},
      {{"assistant", content}},
      {{"tool", content}, {"", content}},
  };
  for (const auto& messages : conversations) {
    for (bool generation_prompt : {false, true}) {
      try {
        (void)t->render(messages, generation_prompt, "<s>", "</s>", "fuzz-model");
      } catch (const Error& e) {
        fuzz::require(std::string(e.what()).find("fuzz-model") != std::string::npos, "the error names the model");
      }
    }
  }
  return 0;
}
