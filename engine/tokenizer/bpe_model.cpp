#include "engine/tokenizer/bpe_model.h"

#include <queue>

#include "engine/core/error.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/utf8.h"

namespace kvwb {
namespace {

constexpr int32_t kMaxId = 1 << 26;  // far above any real vocabulary; guards the id table size

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

BpeModel::BpeModel(BpeModelSpec spec, const std::string& where)
    : byte_fallback_(spec.byte_fallback),
      fuse_unk_(spec.fuse_unk),
      ignore_merges_(spec.ignore_merges),
      prefix_(std::move(spec.continuing_subword_prefix)),
      suffix_(std::move(spec.end_of_word_suffix)) {
  int32_t max_id = -1;
  for (const auto& [token, id] : spec.vocab) {
    if (id < 0 || id >= kMaxId) fail(where, "model.vocab: token '{}' has an invalid id {}", token, id);
    max_id = std::max(max_id, id);
  }
  tokens_.resize(static_cast<size_t>(max_id + 1));
  present_.assign(tokens_.size(), false);
  vocab_.reserve(spec.vocab.size());
  for (auto& [token, id] : spec.vocab) {
    if (present_[id]) fail(where, "model.vocab: id {} is used by both '{}' and '{}'", id, tokens_[id], token);
    if (!vocab_.emplace(token, id).second) fail(where, "model.vocab: token '{}' appears twice", token);
    present_[id] = true;
    tokens_[id] = std::move(token);
  }

  merges_.reserve(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const int32_t a = token_id(left), b = token_id(right);
    if (a < 0) fail(where, "model.merges[{}]: token '{}' is not in the vocabulary", rank, left);
    if (b < 0) fail(where, "model.merges[{}]: token '{}' is not in the vocabulary", rank, right);
    // With a continuing-subword prefix the right part loses its prefix when merged.
    const std::string_view right_body =
        std::string_view(right).substr(right.rfind(prefix_, 0) == 0 ? prefix_.size() : 0);
    const std::string merged = left + std::string(right_body);
    const int32_t m = token_id(merged);
    if (m < 0) fail(where, "model.merges[{}]: merged token '{}' is not in the vocabulary", rank, merged);
    // A repeated pair keeps its last rank, as tokenizers' map does.
    merges_[pair_key(a, b)] = {static_cast<int32_t>(rank), m};
  }

  for (int b = 0; b < 256; ++b) byte_ids_[b] = token_id(byte_token_name(static_cast<uint8_t>(b)));
  if (!spec.unk_token.empty()) {
    unk_id_ = token_id(spec.unk_token);
    if (unk_id_ < 0) fail(where, "model.unk_token '{}' is not in the vocabulary", spec.unk_token);
  }
}

int32_t BpeModel::token_id(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[id]) return nullptr;
  return &tokens_[id];
}

int32_t BpeModel::lookup_char(std::string_view ch, bool first, bool last) const {
  if (prefix_.empty() && suffix_.empty()) return token_id(ch);
  std::string s = (!first ? prefix_ : std::string()) + std::string(ch) + (last ? suffix_ : std::string());
  return token_id(s);
}

void BpeModel::merge_all(std::vector<int32_t>& ids) const {
  // Symbols form a linked list; a min-heap holds candidate merges ordered by (rank, position),
  // so the lowest-ranked pair, leftmost on ties, merges first (tokenizers' Word::merge_all).
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  struct Candidate {
    int32_t rank, pos, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(ids.size());
  std::vector<Symbol> sym(ids.size());
  for (int32_t i = 0; i < n; ++i) sym[i] = {ids[i], i - 1, i + 1 < n ? i + 1 : -1, true};

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left) {
    if (left < 0 || sym[left].next < 0) return;
    auto it = merges_.find(pair_key(sym[left].id, sym[sym[left].next].id));
    if (it != merges_.end()) queue.push({it->second.first, left, it->second.second});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    const Symbol& right = sym[left.next];
    // Skip stale entries: the pair at this position changed since it was queued.
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.second != top.merged) continue;
    const int32_t right_pos = left.next;
    left.id = top.merged;
    left.next = right.next;
    sym[right_pos].alive = false;
    if (left.next >= 0) sym[left.next].prev = top.pos;
    push_pair(left.prev);
    push_pair(top.pos);
  }
  ids.clear();
  for (int32_t i = 0; i >= 0 && i < n; i = sym[i].next) ids.push_back(sym[i].id);
}

std::vector<int32_t> BpeModel::merge_word(std::string_view word) const {
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  int32_t pending_unk = -1;  // an unknown run waiting to be emitted (for fuse_unk)
  for (size_t i = 0; i < word.size();) {
    const size_t len = utf8::next(word, i).size;
    const std::string_view ch = word.substr(i, len);
    const int32_t id = lookup_char(ch, i == 0, i + len == word.size());
    i += len;
    if (id >= 0) {
      if (pending_unk >= 0) ids.push_back(pending_unk);
      pending_unk = -1;
      ids.push_back(id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        // As in tokenizers, a pending unk is not flushed first (it can only arise when the
        // vocabulary lacks some byte tokens).
        for (char c : ch) ids.push_back(byte_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (pending_unk >= 0 && !fuse_unk_) ids.push_back(pending_unk);
      pending_unk = unk_id_;
    }
  }
  if (pending_unk >= 0) ids.push_back(pending_unk);
  merge_all(ids);
  return ids;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t whole = token_id(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheWordLimit;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids = merge_word(word);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheEntries) cache_.clear();
    cache_.emplace(std::string(word), std::move(ids));
  }
}

}  // namespace kvwb
