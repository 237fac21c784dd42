#include "engine/tokenizer/byte_tokenizer.h"

#include <fstream>

#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/utf8.h"

namespace kvwb {

ByteTokenizer::ByteTokenizer(std::vector<AddedToken> specials, SpecialTokenIds ids, const std::string& where) {
  for (const AddedToken& t : specials) {
    if (t.id < 256) fail(where, "added token '{}' has id {}, which a byte tokenizer keeps for a byte", t.content, t.id);
    vocab_size_ = std::max<int64_t>(vocab_size_, int64_t{t.id} + 1);
  }
  added_ = AddedVocabulary(std::move(specials), Normalizer{});
  set_special_ids(std::move(ids), where);
}

void ByteTokenizer::set_special_ids(SpecialTokenIds specials, const std::string& where) {
  check_special_ids(specials, vocab_size_, where);
  specials_ = std::move(specials);
}

std::vector<int32_t> ByteTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() + 1);
  if (add_bos && specials_.bos_id >= 0) ids.push_back(specials_.bos_id);
  // Without a normalizer both kinds of added tokens match the text as written.
  for (const TextPiece& piece : added_.split_raw(text)) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    const std::string_view raw = text.substr(piece.begin, piece.end - piece.begin);
    for (const TextPiece& sub : added_.split_normalized(raw)) {
      if (sub.id >= 0) {
        ids.push_back(sub.id);
        continue;
      }
      for (char c : raw.substr(sub.begin, sub.end - sub.begin)) ids.push_back(static_cast<uint8_t>(c));
    }
  }
  return ids;
}

std::string ByteTokenizer::decode_impl(std::span<const int32_t> ids, bool skip_special, bool raw) const {
  // ByteFallback + Fuse: a run of bytes that is not valid UTF-8 becomes one U+FFFD per byte.
  std::string out, run;
  auto flush = [&] {
    if (raw || utf8::is_valid(run)) {
      out += run;
    } else {
      for (size_t i = 0; i < run.size(); ++i) out += utf8::kReplacement;
    }
    run.clear();
  };
  for (int32_t id : ids) {
    if (id >= 0 && id < 256) {
      run.push_back(static_cast<char>(id));
    } else if (const AddedToken* t = added_.find(id)) {
      if (skip_special && t->special) continue;
      flush();
      out += t->content;
    }
  }
  flush();
  return out;
}

std::string ByteTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  return decode_impl(ids, skip_special, false);
}

std::string ByteTokenizer::decode_raw(std::span<const int32_t> ids, bool skip_special) const {
  return decode_impl(ids, skip_special, true);
}

bool ByteTokenizer::is_special(int32_t id) const {
  const AddedToken* t = added_.find(id);
  return t != nullptr && t->special;
}

int32_t ByteTokenizer::token_id(std::string_view token) const {
  const int32_t id = added_.id_of(token);
  if (id >= 0) return id;
  const int b = parse_byte_token(token);
  // The vocab spells bytes in upper-case hex only.
  return b >= 0 && token == byte_token_name(static_cast<uint8_t>(b)) ? b : -1;
}

std::vector<AddedToken> byte_tokenizer_specials(const ByteTokenizerOptions& options) {
  std::vector<std::string> names{"<bos>", "<eos>", "<pad>"};
  names.insert(names.end(), options.extra_specials.begin(), options.extra_specials.end());
  std::vector<AddedToken> specials;
  for (size_t i = 0; i < names.size(); ++i) {
    AddedToken t;
    t.id = static_cast<int32_t>(256 + i);
    t.content = names[i];
    t.special = true;
    specials.push_back(std::move(t));
  }
  return specials;
}

std::unique_ptr<Tokenizer> make_byte_tokenizer(const ByteTokenizerOptions& options) {
  for (const std::string& s : options.extra_specials) {
    if (s.empty()) fail("make_byte_tokenizer", "a special token is empty");
  }
  SpecialTokenIds ids{kByteBosId, {kByteEosId}, options.add_bos};
  return std::make_unique<ByteTokenizer>(byte_tokenizer_specials(options), ids, "make_byte_tokenizer");
}

std::string byte_tokenizer_json(const ByteTokenizerOptions& options) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_token_name(static_cast<uint8_t>(b))] = b;
  Json added = Json::array();
  for (const AddedToken& t : byte_tokenizer_specials(options)) {
    added.push_back({{"id", t.id}, {"content", t.content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  Json post = nullptr;
  if (options.add_bos) {
    const Json bos_piece = {{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}};
    post = {{"type", "TemplateProcessing"},
            {"single", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                      {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{"<bos>", {{"id", "<bos>"}, {"ids", {kByteBosId}}, {"tokens", {"<bos>"}}}}}}};
  }
  const Json spec = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", nullptr},
      {"post_processor", post},
      {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", true}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", Json::array()}}},
  };
  return spec.dump(1) + "\n";
}

void write_byte_tokenizer_json(const std::string& path, const ByteTokenizerOptions& options) {
  const std::string text = byte_tokenizer_json(options);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open file for writing");
  out << text;
  out.close();
  if (!out) fail(path, "write failed");
}

}  // namespace kvwb
