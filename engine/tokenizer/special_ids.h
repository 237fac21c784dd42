#pragma once
// BOS, EOS and add-BOS for a tokenizer.json, from the files beside it (tokenizer_config.json,
// generation_config.json, config.json) and the caller's defaults. The rules are documented at
// load_tokenizer_json in tokenizer.h.
#include <string>

#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace kvwb {

struct SpecialIdHints {
  int32_t template_bos = -1;          // what the post_processor adds before a sequence
  bool sentencepiece_family = false;  // Metaspace pre-tokenizer or a Prepend normalizer
};

// `tokenizer` answers token_id() and vocab_size(); its own special ids are not consulted.
// Throws Error naming the side file for malformed JSON or tokens/ids not in the vocabulary.
SpecialTokenIds resolve_special_ids(const std::string& tokenizer_json_path, const SpecialIdHints& hints,
                                    const TokenizerDefaults& defaults, const Tokenizer& tokenizer);

}  // namespace kvwb
