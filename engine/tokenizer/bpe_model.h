#pragma once
// The BPE model: vocabulary + ranked merges, turning one pre-tokenized word into ids. Built from
// plain data, so tokenizer.json and GGUF metadata both feed it.
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kvwb {

// Hash that lets unordered maps keyed by std::string be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct BpeModelSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;         // token text and its id
  std::vector<std::pair<std::string, std::string>> merges;    // rank = position
  std::string unk_token;                                      // empty: none (unknown chars dropped)
  bool byte_fallback = false;  // unknown chars become their "<0xNN>" byte tokens
  bool fuse_unk = false;       // consecutive unknown chars share one unk id
  bool ignore_merges = false;  // a word found whole in the vocab is one token (Llama-3)
  std::string continuing_subword_prefix, end_of_word_suffix;  // rarely used; empty = none
};

class BpeModel {
 public:
  // Throws Error("<where>: ...") for duplicate or negative ids, merges naming tokens absent
  // from the vocab, or an unk_token absent from it.
  BpeModel(BpeModelSpec spec, const std::string& where);

  // Appends the ids of one word. Thread-safe; results of short words are cached.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  int32_t token_id(std::string_view token) const;  // -1 when absent
  const std::string* token(int32_t id) const;      // nullptr when absent
  int64_t id_limit() const { return static_cast<int64_t>(tokens_.size()); }  // max id + 1
  size_t merge_count() const { return merges_.size(); }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  std::vector<int32_t> merge_word(std::string_view word) const;
  void merge_all(std::vector<int32_t>& symbols) const;
  int32_t lookup_char(std::string_view ch, bool first, bool last) const;

  StringMap<int32_t> vocab_;
  std::vector<std::string> tokens_;  // by id
  std::vector<bool> present_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left, right) -> (rank, merged)
  std::array<int32_t, 256> byte_ids_{};  // "<0xNN>" ids, -1 when absent
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::string prefix_, suffix_;

  static constexpr size_t kCacheWordLimit = 256;   // longer words are not cached
  static constexpr size_t kCacheEntries = 200000;  // cleared when full
  mutable std::mutex cache_mutex_;
  mutable StringMap<std::vector<int32_t>> cache_;
};

}  // namespace kvwb
