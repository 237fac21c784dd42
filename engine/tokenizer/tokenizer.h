#pragma once
// Text <-> token ids. Implementations: BPE from tokenizer.json (metaspace with byte fallback,
// byte-level), and the plain byte tokenizer of the demo model.
//
// Encoding follows HF tokenizers exactly (checked against goldens from tokenizers 0.20.3):
// added tokens are matched first, then each remaining piece is normalized, pre-tokenized and
// BPE-encoded. Known limits: the NFC normalizer is treated as the identity (exact for text
// already in NFC), and invalid UTF-8 given to a BPE tokenizer is first repaired to U+FFFD (the
// byte tokenizer encodes any bytes as they are).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvwb {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes text; special tokens written in the text (e.g. "<|im_start|>") become their ids.
  // Adds BOS first when add_bos and the tokenizer has one.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // Decodes ids to text (specials rendered as their text unless skip_special). Ids the
  // tokenizer does not know are skipped; invalid UTF-8 becomes U+FFFD as in HF tokenizers.
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  // The bytes decode() would produce before its U+FFFD repair: may end inside a character.
  virtual std::string decode_raw(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  virtual int64_t vocab_size() const = 0;                  // highest id + 1
  virtual int32_t bos_id() const = 0;                      // -1 when none
  virtual const std::vector<int32_t>& eos_ids() const = 0; // may be empty
  virtual bool is_special(int32_t id) const = 0;
  virtual int32_t token_id(std::string_view token) const = 0;  // -1 when absent
  // Whether encode() of a plain prompt should start with BOS for this model family.
  virtual bool add_bos_by_default() const = 0;
};

// Turns a stream of ids into text pieces that are always complete UTF-8 (a character split
// over several byte tokens is held back until it is whole; bytes that can never complete a
// character come out as U+FFFD at once).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(tokenizer), skip_special_(skip_special) {}
  std::string push(int32_t id);  // text that became printable with this token
  std::string flush();           // whatever is left (invalid bytes as U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  // Ids decoded together so that context-dependent decoders (a leading "▁" stripped only at
  // the start of the text) see the previous token; reset after every complete piece.
  std::vector<int32_t> ids_;
  size_t emitted_bytes_ = 0;  // bytes of decode_raw(ids_) already returned
};

struct TokenizerDefaults {
  int32_t bos_id = -1;  // from config.json / generation_config.json when present
  std::vector<int32_t> eos_ids;
};

// Loads an HF tokenizer.json (plus tokenizer_config.json / generation_config.json / config.json
// beside it when present). Errors name the file and the problem.
//   BOS: the token the post_processor template adds, else tokenizer_config's bos_token, else
//        generation_config / config.json bos_token_id, else defaults.bos_id.
//   EOS: every id named by tokenizer_config's eos_token, generation_config, config.json and
//        defaults (generation stops at any of them).
//   add_bos_by_default: tokenizer_config's add_bos_token when given; else true when the
//        post_processor template adds BOS or the tokenizer is of the SentencePiece family
//        (Metaspace / Prepend "▁"); else false (byte-level GPT-2 style).
// A file of the byte tokenizer's shape (see below) loads as the fast byte tokenizer.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path,
                                               const TokenizerDefaults& defaults = {});

// The demo model's tokenizer: ids 0..255 are the bytes, then the specials "<bos>" 256,
// "<eos>" 257, "<pad>" 258, then `extra_specials` from 259 in order.
struct ByteTokenizerOptions {
  std::vector<std::string> extra_specials;
  bool add_bos = true;  // add_bos_by_default(); written as a BOS template in tokenizer.json
};
inline constexpr int32_t kByteBosId = 256;
inline constexpr int32_t kByteEosId = 257;
inline constexpr int32_t kBytePadId = 258;

std::unique_ptr<Tokenizer> make_byte_tokenizer(const ByteTokenizerOptions& options = {});

// The same tokenizer as an HF tokenizer.json (valid for HF tokenizers: model BPE with
// byte_fallback, vocab "<0x00>".."<0xFF>", no merges, added tokens for the specials, decoder
// ByteFallback + Fuse). write_* throws Error naming the path when it cannot write.
std::string byte_tokenizer_json(const ByteTokenizerOptions& options = {});
void write_byte_tokenizer_json(const std::string& path, const ByteTokenizerOptions& options = {});

}  // namespace kvwb
