// load_tokenizer_json: tokenizer.json -> BpeTokenizer (or ByteTokenizer for the byte shape).
#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/byte_tokenizer.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/special_ids.h"
#include "engine/tokenizer/tokenizer_json_parts.h"

namespace kvwb {
namespace {

const Json& field(const Json& spec, const char* key) {
  static const Json null_json;
  auto it = spec.find(key);
  return it == spec.end() ? null_json : *it;
}

bool is_type(const Json& spec, const char* type) {
  return spec.is_object() && spec.contains("type") && spec.at("type") == type;
}

// ByteFallback, or a Sequence of ByteFallback optionally followed by Fuse.
bool is_byte_decoder(const Json& decoder) {
  if (is_type(decoder, "ByteFallback")) return true;
  if (!is_type(decoder, "Sequence") || !decoder.contains("decoders")) return false;
  const Json& list = decoder.at("decoders");
  if (!list.is_array() || list.empty() || list.size() > 2) return false;
  return is_type(list[0], "ByteFallback") && (list.size() == 1 || is_type(list[1], "Fuse"));
}

// The byte tokenizer's file: 256 byte tokens at their own ids, no merges, nothing that
// rewrites text, and added tokens above the bytes.
bool has_byte_tokenizer_shape(const Json& spec, const BpeTokenizerParts& parts) {
  const BpeModelSpec& m = parts.model;
  if (!m.byte_fallback || !m.merges.empty() || m.vocab.size() != 256) return false;
  if (!m.continuing_subword_prefix.empty() || !m.end_of_word_suffix.empty()) return false;
  for (const auto& [token, id] : m.vocab) {
    if (id < 0 || id > 255 || token != byte_token_name(static_cast<uint8_t>(id))) return false;
  }
  if (!field(spec, "normalizer").is_null() || !field(spec, "pre_tokenizer").is_null()) return false;
  if (!is_byte_decoder(field(spec, "decoder"))) return false;
  return std::all_of(parts.added_tokens.begin(), parts.added_tokens.end(), [](const AddedToken& t) {
    return t.id >= 256 && parse_byte_token(t.content) < 0;
  });
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path, const TokenizerDefaults& defaults) {
  const Json spec = read_json_file(path);
  if (!spec.is_object()) fail(path, "expected a JSON object at the top level");
  if (!spec.contains("model")) fail(path, "missing required field 'model'");

  BpeTokenizerParts parts;
  parts.model = read_bpe_model(spec.at("model"), path);
  parts.added_tokens = read_added_tokens(field(spec, "added_tokens"), path);
  read_normalizer(field(spec, "normalizer"), path + ": normalizer", parts.normalizer);
  read_pre_tokenizer(field(spec, "pre_tokenizer"), path + ": pre_tokenizer", parts.pre_tokenizer);
  read_decoder(field(spec, "decoder"), path + ": decoder", parts.decoder);

  SpecialIdHints hints;
  hints.template_bos = read_template_bos(field(spec, "post_processor"), path + ": post_processor");
  hints.sentencepiece_family = parts.pre_tokenizer.has_metaspace() || parts.normalizer.prepends();

  if (has_byte_tokenizer_shape(spec, parts)) {
    auto tok = std::make_unique<ByteTokenizer>(std::move(parts.added_tokens), SpecialTokenIds{}, path);
    SpecialTokenIds ids = resolve_special_ids(path, hints, defaults, *tok);
    // Without other information the byte tokenizer's own names stand for BOS and EOS.
    if (ids.bos_id < 0) ids.bos_id = tok->token_id("<bos>");
    if (ids.eos_ids.empty() && tok->token_id("<eos>") >= 0) ids.eos_ids.push_back(tok->token_id("<eos>"));
    tok->set_special_ids(std::move(ids), path);
    return tok;
  }
  auto tok = std::make_unique<BpeTokenizer>(std::move(parts), path);
  tok->set_special_ids(resolve_special_ids(path, hints, defaults, *tok), path);
  return tok;
}

}  // namespace kvwb
