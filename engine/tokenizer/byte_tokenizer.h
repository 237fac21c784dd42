#pragma once
// The plain byte tokenizer (one id per byte, specials from 256): encode is a copy of the bytes
// once added tokens are split off. Its tokenizer.json is a byte-fallback BPE without merges,
// which HF tokenizers reads too; load_tokenizer_json recognises that shape and builds this class.
#include <string>
#include <vector>

#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace kvwb {

class ByteTokenizer final : public Tokenizer {
 public:
  // `specials`: added tokens, ids >= 256. Throws Error naming `where` for bad ids.
  ByteTokenizer(std::vector<AddedToken> specials, SpecialTokenIds ids, const std::string& where);

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string decode_raw(std::span<const int32_t> ids, bool skip_special = false) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  int32_t bos_id() const override { return specials_.bos_id; }
  const std::vector<int32_t>& eos_ids() const override { return specials_.eos_ids; }
  bool is_special(int32_t id) const override;
  int32_t token_id(std::string_view token) const override;
  bool add_bos_by_default() const override { return specials_.add_bos_by_default; }

  void set_special_ids(SpecialTokenIds specials, const std::string& where);

 private:
  std::string decode_impl(std::span<const int32_t> ids, bool skip_special, bool raw) const;

  AddedVocabulary added_;
  SpecialTokenIds specials_;
  int64_t vocab_size_ = 256;
};

// The added tokens of a byte tokenizer with these options ("<bos>", "<eos>", "<pad>", extras).
std::vector<AddedToken> byte_tokenizer_specials(const ByteTokenizerOptions& options);

}  // namespace kvwb
