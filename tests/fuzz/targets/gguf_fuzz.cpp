// GGUF: header, metadata, tensor infos and data bounds (GgufFile), then the whole model load
// (hyper-parameters, vocabulary, chat template, tensor shapes), then a little use of what
// loaded: the tokenizer encodes and decodes, the chat template renders.
#include <filesystem>

#include "engine/model/chat_prompt.h"
#include "engine/model/gguf_file.h"
#include "engine/model/gguf_model.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path file = fuzz::scratch_dir() / "model.gguf";
  fuzz::write_file(file, data, size);
  try {
    GgufFile gguf(file.string());
    for (const GgufTensorInfo& t : gguf.tensors()) {
      volatile uint8_t sink = 0;
      if (t.nbytes > 0) sink = static_cast<uint8_t>(t.data[0] ^ t.data[t.nbytes - 1]);
      (void)sink;
    }
    const std::unique_ptr<Model> model = load_gguf_model(file.string());
    const std::vector<int32_t> ids = model->tokenizer->encode("Hello, world! 123 \xc3\xa9t\xc3\xa9 <|im_start|>user", true);
    for (int32_t id : ids) fuzz::require(id >= 0 && id < model->tokenizer->vocab_size(), "encoded ids lie in the vocabulary");
    (void)model->tokenizer->decode(ids);
    if (!model->chat_template.empty()) (void)chat_tokens(*model, {{"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}});
  } catch (const Error& e) {
    fuzz::check_error_names(e, file);
  }
  return 0;
}
