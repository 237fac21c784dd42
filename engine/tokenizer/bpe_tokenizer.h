#pragma once
// A BPE tokenizer assembled from plain parts: model (vocab + merges), added tokens, normalizer,
// pre-tokenizer and decoder. load_tokenizer_json builds one from tokenizer.json; GGUF metadata
// (tokens, merges, a pre-tokenizer regex) can build one directly, e.g. for a gpt2-style vocab:
//   parts.pre_tokenizer.add_split(Pattern::regex(regex, where), SplitBehavior::Isolated, false);
//   parts.pre_tokenizer.add_byte_level(false, false);
//   parts.decoder.add_byte_level();
#include <string>
#include <vector>

#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace kvwb {

struct SpecialTokenIds {
  int32_t bos_id = -1;
  std::vector<int32_t> eos_ids;
  bool add_bos_by_default = false;
};

struct BpeTokenizerParts {
  BpeModelSpec model;
  std::vector<AddedToken> added_tokens;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Decoder decoder;
  SpecialTokenIds specials;
};

class BpeTokenizer final : public Tokenizer {
 public:
  // Throws Error("<where>: ...") for an inconsistent vocabulary or special ids out of range.
  BpeTokenizer(BpeTokenizerParts parts, const std::string& where);

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string decode_raw(std::span<const int32_t> ids, bool skip_special = false) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  int32_t bos_id() const override { return specials_.bos_id; }
  const std::vector<int32_t>& eos_ids() const override { return specials_.eos_ids; }
  bool is_special(int32_t id) const override;
  int32_t token_id(std::string_view token) const override;
  bool add_bos_by_default() const override { return specials_.add_bos_by_default; }

  // Replaces BOS/EOS/add-BOS (the loader resolves them from files beside tokenizer.json).
  void set_special_ids(SpecialTokenIds specials, const std::string& where);
  const BpeModel& model() const { return model_; }

 private:
  std::vector<std::string> token_strings(std::span<const int32_t> ids, bool skip_special) const;

  BpeModel model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  AddedVocabulary added_;
  SpecialTokenIds specials_;
  int64_t vocab_size_ = 0;
};

// Checks that every special id lies in [0, vocab_size); throws Error naming `where`.
void check_special_ids(const SpecialTokenIds& specials, int64_t vocab_size, const std::string& where);

}  // namespace kvwb
