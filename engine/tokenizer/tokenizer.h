#pragma once
// Text <-> token ids. Implementations: BPE from tokenizer.json (metaspace with byte fallback,
// byte-level), and the plain byte tokenizer of the demo model.
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
  // Decodes ids to text (specials rendered as their text unless skip_special).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;                      // -1 when none
  virtual const std::vector<int32_t>& eos_ids() const = 0; // may be empty
  virtual bool is_special(int32_t id) const = 0;
  virtual int32_t token_id(std::string_view token) const = 0;  // -1 when absent
  // Whether encode() of a plain prompt should start with BOS for this model family.
  virtual bool add_bos_by_default() const = 0;
};

// Turns a stream of ids into text pieces that are always complete UTF-8 (a character split
// over several byte tokens is held back until it is whole).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  std::string push(int32_t id);  // text that became printable with this token
  std::string flush();           // whatever is left (invalid bytes as U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;
  size_t emitted_bytes_ = 0;
};

struct TokenizerDefaults {
  int32_t bos_id = -1;  // from config.json / generation_config.json when present
  std::vector<int32_t> eos_ids;
};

// Loads an HF tokenizer.json (plus tokenizer_config.json / generation_config.json beside it
// when present). Errors name the file and the problem.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path,
                                               const TokenizerDefaults& defaults = {});

}  // namespace kvwb
