#include "engine/tokenizer/bpe_tokenizer.h"

#include "engine/core/error.h"
#include "engine/tokenizer/utf8.h"

namespace kvwb {

void check_special_ids(const SpecialTokenIds& specials, int64_t vocab_size, const std::string& where) {
  if (specials.bos_id < -1 || specials.bos_id >= vocab_size) {
    fail(where, "BOS id {} is outside the vocabulary ({} tokens)", specials.bos_id, vocab_size);
  }
  for (int32_t id : specials.eos_ids) {
    if (id < 0 || id >= vocab_size) fail(where, "EOS id {} is outside the vocabulary ({} tokens)", id, vocab_size);
  }
}

BpeTokenizer::BpeTokenizer(BpeTokenizerParts parts, const std::string& where)
    : model_(std::move(parts.model), where),
      normalizer_(std::move(parts.normalizer)),
      pre_tokenizer_(std::move(parts.pre_tokenizer)),
      decoder_(std::move(parts.decoder)) {
  vocab_size_ = model_.id_limit();
  for (AddedToken& t : parts.added_tokens) {
    // tokenizers gives an added token the model's id when the model has the same text.
    const int32_t model_id = model_.token_id(t.content);
    if (model_id >= 0) t.id = model_id;
    if (t.id < 0) fail(where, "added token '{}' has an invalid id {}", t.content, t.id);
    vocab_size_ = std::max<int64_t>(vocab_size_, int64_t{t.id} + 1);
  }
  added_ = AddedVocabulary(std::move(parts.added_tokens), normalizer_);
  set_special_ids(std::move(parts.specials), where);
}

void BpeTokenizer::set_special_ids(SpecialTokenIds specials, const std::string& where) {
  check_special_ids(specials, vocab_size_, where);
  specials_ = std::move(specials);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_bos && specials_.bos_id >= 0) ids.push_back(specials_.bos_id);
  const std::string valid = utf8::to_valid(text);
  for (const TextPiece& piece : added_.split_raw(valid)) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    const std::string_view raw = std::string_view(valid).substr(piece.begin, piece.end - piece.begin);
    const std::string normalized = normalizer_.empty() ? std::string(raw) : normalizer_.apply(raw);
    for (const TextPiece& sub : added_.split_normalized(normalized)) {
      if (sub.id >= 0) {
        ids.push_back(sub.id);
        continue;
      }
      const std::string_view part = std::string_view(normalized).substr(sub.begin, sub.end - sub.begin);
      const bool at_text_start = piece.begin == 0 && sub.begin == 0;
      for (const std::string& word : pre_tokenizer_.apply(part, at_text_start)) model_.encode_word(word, ids);
    }
  }
  return ids;
}

std::vector<std::string> BpeTokenizer::token_strings(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* added = added_.find(id)) {
      if (!(skip_special && added->special)) tokens.push_back(added->content);
    } else if (const std::string* token = model_.token(id)) {
      tokens.push_back(*token);
    }  // unknown ids are skipped, as in tokenizers
  }
  return tokens;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  return decoder_.decode(token_strings(ids, skip_special));
}

std::string BpeTokenizer::decode_raw(std::span<const int32_t> ids, bool skip_special) const {
  return decoder_.decode_raw(token_strings(ids, skip_special));
}

bool BpeTokenizer::is_special(int32_t id) const {
  const AddedToken* t = added_.find(id);
  return t != nullptr && t->special;
}

int32_t BpeTokenizer::token_id(std::string_view token) const {
  const int32_t id = added_.id_of(token);
  return id >= 0 ? id : model_.token_id(token);
}

}  // namespace kvwb
