// tokenizer.json (BPE byte-level and metaspace, added tokens, normalizers, pre-tokenizers,
// post-processor, decoders), then encode and decode with whatever loaded.
#include <filesystem>

#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path file = fuzz::scratch_subdir("tokenizer") / "tokenizer.json";
  fuzz::write_file(file, data, size);
  try {
    const std::unique_ptr<Tokenizer> t = load_tokenizer_json(file.string());
    for (const char* text : {"Hello, world!  It's 2024 \xe2\x80\x94 caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd\n\n\tend",
                             "<s><|im_start|>user\n\xff\xfe broken utf-8", ""}) {
      const std::vector<int32_t> ids = t->encode(text, true);
      for (int32_t id : ids) fuzz::require(id >= 0 && id < t->vocab_size(), "encoded ids lie in the vocabulary");
      (void)t->decode(ids);
      StreamingDecoder stream(*t);
      std::string streamed;
      for (int32_t id : ids) streamed += stream.push(id);
      streamed += stream.flush();
    }
    // Ids the tokenizer does not know are skipped, not read out of bounds.
    const std::vector<int32_t> odd{-1, 0, static_cast<int32_t>(t->vocab_size()), static_cast<int32_t>(t->vocab_size() - 1)};
    (void)t->decode(odd);
  } catch (const Error& e) {
    fuzz::check_error_names(e, file);
  }
  return 0;
}
