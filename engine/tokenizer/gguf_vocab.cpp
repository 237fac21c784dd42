// make_gguf_tokenizer: GGUF tokenizer metadata -> BpeTokenizer.
#include "engine/tokenizer/gguf_vocab.h"

#include <string_view>

#include "engine/core/error.h"
#include "engine/tokenizer/bpe_tokenizer.h"

namespace kvwb {
namespace {

// Qwen2's split regex: like Llama-3's, but every digit is its own piece.
constexpr std::string_view kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum class PreFamily { Gpt2, StarCoder, Llama3, Qwen2 };

struct PreName {
  std::string_view name;
  PreFamily family;
};

// llama.cpp's names (convert_hf_to_gguf.py writes them) and the tokenizer.json each stands for.
constexpr PreName kPreNames[] = {
    {"gpt-2", PreFamily::Gpt2},        {"smollm", PreFamily::StarCoder}, {"starcoder", PreFamily::StarCoder},
    {"refact", PreFamily::StarCoder},  {"llama-bpe", PreFamily::Llama3}, {"llama3", PreFamily::Llama3},
    {"qwen2", PreFamily::Qwen2},
};

// Builds the pre-tokenizer of the original tokenizer.json of each family.
void add_pre_tokenizer(PreFamily family, BpeTokenizerParts& parts, const std::string& where) {
  PreTokenizer& pre = parts.pre_tokenizer;
  switch (family) {
    case PreFamily::Gpt2:  // ByteLevel(use_regex) with GPT-2's regex
      pre.add_byte_level(false, true);
      break;
    case PreFamily::StarCoder:  // Digits(individual_digits) + ByteLevel(use_regex)
      pre.add_digits(true);
      pre.add_byte_level(false, true);
      break;
    case PreFamily::Llama3:  // Split(regex, Isolated) + ByteLevel(no regex); whole words first
      pre.add_split(Pattern::regex(kLlama3SplitPattern, where), SplitBehavior::Isolated, false);
      pre.add_byte_level(false, false);
      parts.model.ignore_merges = true;
      break;
    case PreFamily::Qwen2:
      pre.add_split(Pattern::regex(kQwen2SplitPattern, where), SplitBehavior::Isolated, false);
      pre.add_byte_level(false, false);
      break;
  }
}

void check_id(int32_t id, const char* key, size_t vocab, const std::string& where) {
  if (id < -1 || id >= static_cast<int64_t>(vocab))
    fail(where, "tokenizer.ggml.{} {} is outside the vocabulary ({} tokens)", key, id, vocab);
}

}  // namespace

std::vector<std::string> known_gguf_pre_tokenizers() {
  std::vector<std::string> names;
  for (const PreName& p : kPreNames) names.emplace_back(p.name);
  return names;
}

std::unique_ptr<Tokenizer> make_gguf_tokenizer(const GgufVocab& vocab, const std::string& where) {
  if (vocab.model == "llama")
    fail(where, "tokenizer.ggml.model 'llama' (SentencePiece) is not supported yet; kvwb reads gpt2-style (byte-level BPE) GGUF vocabularies");
  if (vocab.model != "gpt2")
    fail(where, "tokenizer.ggml.model '{}' is not supported (kvwb reads 'gpt2' byte-level BPE vocabularies)", vocab.model);
  if (vocab.tokens.empty()) fail(where, "tokenizer.ggml.tokens is empty");
  if (!vocab.token_types.empty() && vocab.token_types.size() != vocab.tokens.size())
    fail(where, "tokenizer.ggml.token_type has {} entries for {} tokens", vocab.token_types.size(), vocab.tokens.size());

  const PreName* pre = nullptr;
  for (const PreName& p : kPreNames)
    if (p.name == vocab.pre) pre = &p;
  if (pre == nullptr) {
    std::string known;
    for (const PreName& p : kPreNames) known += (known.empty() ? "" : ", ") + std::string(p.name);
    fail(where, "tokenizer.ggml.pre '{}' is not a pre-tokenizer kvwb knows (known: {})",
         vocab.pre.empty() ? "(absent)" : vocab.pre, known);
  }

  BpeTokenizerParts parts;
  parts.model.vocab.reserve(vocab.tokens.size());
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    const int32_t type = vocab.token_types.empty() ? 1 : vocab.token_types[id];
    if (type == static_cast<int32_t>(GgufTokenType::Control) || type == static_cast<int32_t>(GgufTokenType::UserDefined)) {
      AddedToken t;
      t.id = static_cast<int32_t>(id);
      t.content = vocab.tokens[id];
      t.special = type == static_cast<int32_t>(GgufTokenType::Control);
      parts.added_tokens.push_back(std::move(t));
    }
    parts.model.vocab.emplace_back(vocab.tokens[id], static_cast<int32_t>(id));
  }
  parts.model.merges.reserve(vocab.merges.size());
  for (size_t i = 0; i < vocab.merges.size(); ++i) {
    const std::string& m = vocab.merges[i];
    // Byte-level tokens never contain a space (it is written as "Ġ"), so one space separates.
    const size_t space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == m.size() || m.find(' ', space + 1) != std::string::npos)
      fail(where, "tokenizer.ggml.merges[{}] is '{}', expected two tokens separated by one space", i, m);
    parts.model.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
  add_pre_tokenizer(pre->family, parts, where + ": tokenizer.ggml.pre");
  parts.decoder.add_byte_level();

  const size_t n = vocab.tokens.size();
  check_id(vocab.bos_id, "bos_token_id", n, where);
  check_id(vocab.eos_id, "eos_token_id", n, where);
  check_id(vocab.eot_id, "eot_token_id", n, where);
  check_id(vocab.eom_id, "eom_token_id", n, where);
  parts.specials.bos_id = vocab.bos_id;
  for (int32_t id : {vocab.eos_id, vocab.eot_id, vocab.eom_id}) {
    bool seen = false;
    for (int32_t e : parts.specials.eos_ids) seen = seen || e == id;
    if (id >= 0 && !seen) parts.specials.eos_ids.push_back(id);
  }
  parts.specials.add_bos_by_default = vocab.add_bos.value_or(false) && vocab.bos_id >= 0;
  return std::make_unique<BpeTokenizer>(std::move(parts), where);
}

}  // namespace kvwb
