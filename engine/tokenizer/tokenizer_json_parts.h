#pragma once
// Readers for the parts of a tokenizer.json (used by load_tokenizer_json). Each throws
// Error("<path>: <key>: <problem>") for unknown types or malformed fields.
#include <string>

#include "engine/core/json_file.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenizer.h"

namespace kvwb {

// `model`: type BPE only (vocab, merges as "a b" or ["a", "b"], byte_fallback, ...).
BpeModelSpec read_bpe_model(const Json& model, const std::string& path);
std::vector<AddedToken> read_added_tokens(const Json& added, const std::string& path);

// `normalizer`, `pre_tokenizer`, `decoder`: null gives an empty part; a Sequence flattens.
void read_normalizer(const Json& spec, const std::string& where, Normalizer& out);
void read_pre_tokenizer(const Json& spec, const std::string& where, PreTokenizer& out);
void read_decoder(const Json& spec, const std::string& where, Decoder& out);

// The id of the special token the `post_processor` puts before a single sequence (Llama's
// TemplateProcessing "<s> $A"), or -1 when it adds none.
int32_t read_template_bos(const Json& spec, const std::string& where);

}  // namespace kvwb
