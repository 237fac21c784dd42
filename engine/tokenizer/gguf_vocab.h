#pragma once
// A tokenizer built from GGUF metadata (tokenizer.ggml.*). The model loader reads the keys into
// a GgufVocab (plain data, so this library does not depend on the GGUF parser) and calls
// make_gguf_tokenizer.
//   model "gpt2": byte-level BPE from tokens + merges; `pre` names the pre-tokenizer (llama.cpp
//     names: smollm, starcoder, refact, gpt-2, llama-bpe/llama3, qwen2), which maps to the
//     split rules of the model's original tokenizer.json. Tokens of type CONTROL (3) become
//     special added tokens, USER_DEFINED (4) plain added tokens, as HF tokenizers treats them.
//   model "llama" (SentencePiece, scores and no merges): not supported yet (a clear error).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace kvwb {

// tokenizer.ggml.token_type values.
enum class GgufTokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct GgufVocab {
  std::string model;                 // tokenizer.ggml.model
  std::string pre;                   // tokenizer.ggml.pre; empty when absent
  std::vector<std::string> tokens;   // id = index
  std::vector<int32_t> token_types;  // empty when absent (then every token is normal)
  std::vector<std::string> merges;   // "left right", rank = position
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, eom_id = -1;  // -1 = absent
  std::optional<bool> add_bos;       // tokenizer.ggml.add_bos_token
};

// Throws Error("<where>: ...") naming the key for unsupported models, unknown pre-tokenizer
// names, malformed merges and ids outside the vocabulary. EOS ids: eos, eot and eom (generation
// stops at each). add_bos_by_default: add_bos when given, else false for gpt2 vocabularies.
std::unique_ptr<Tokenizer> make_gguf_tokenizer(const GgufVocab& vocab, const std::string& where);

// The pre-tokenizer names make_gguf_tokenizer knows, for messages and tests.
std::vector<std::string> known_gguf_pre_tokenizers();

}  // namespace kvwb
