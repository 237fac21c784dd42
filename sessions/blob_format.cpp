#include "sessions/blob_format.h"

#include <bit>
#include <cstring>
#include <map>

#include "engine/core/error.h"

namespace kvwb {
namespace {

class Writer {
 public:
  void byte(uint8_t b) { out_.push_back(b); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void text(const std::string& s) {
    varint(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void f32(float f) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> blob, const std::string& where) : blob_(blob), where_(where) {}

  uint8_t byte() {
    need(1, "a byte");
    return blob_[pos_++];
  }
  uint64_t varint(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1, what);
      const uint8_t b = blob_[pos_++];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(where_, "malformed varint for {} at byte {}", what, pos_);
  }
  // A varint that must fit `limit` (counts, indices): guards allocations against garbage.
  uint64_t bounded(const char* what, uint64_t limit) {
    const uint64_t v = varint(what);
    if (v > limit) fail(where_, "{} {} out of range (at most {}) at byte {}", what, v, limit, pos_);
    return v;
  }
  std::string text(const char* what) {
    const uint64_t n = bounded(what, remaining());
    std::string s(reinterpret_cast<const char*>(blob_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  float f32() {
    need(4, "a score");
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(blob_[pos_ + i]) << (8 * i);
    pos_ += 4;
    return std::bit_cast<float>(bits);
  }
  // The leading format byte: a blob written by another kvwb version is refused by name.
  void expect_format(uint8_t expected, const char* kind) {
    const uint8_t format = byte();
    if (format != expected) fail(where_, "{} blob format {} is not one this kvwb reads ({})", kind, format, expected);
  }
  uint64_t remaining() const { return blob_.size() - pos_; }
  void expect_end() const {
    if (pos_ != blob_.size()) fail(where_, "{} unexpected bytes after the data", blob_.size() - pos_);
  }

 private:
  void need(size_t n, const char* what) const {
    if (blob_.size() - pos_ < n) fail(where_, "truncated blob: {} missing at byte {}", what, pos_);
  }
  std::span<const uint8_t> blob_;
  const std::string& where_;
  size_t pos_ = 0;
};

constexpr uint64_t kMaxInt32 = 0x7fffffff;

}  // namespace

std::vector<uint8_t> encode_retention(const std::vector<HeadRetention>& heads) {
  // Request ids repeat once per (layer, head): store each once and refer to it by index.
  std::map<std::string, uint64_t> index;
  std::vector<const std::string*> ids;
  for (const HeadRetention& h : heads) {
    if (index.emplace(h.request_id, ids.size()).second) ids.push_back(&h.request_id);
  }
  Writer w;
  w.byte(kRetentionBlobFormat);
  w.varint(ids.size());
  for (const std::string* id : ids) w.text(*id);
  w.varint(heads.size());
  for (const HeadRetention& h : heads) {
    w.varint(index.at(h.request_id));
    w.varint(static_cast<uint32_t>(h.layer));
    w.varint(static_cast<uint32_t>(h.head));
    w.varint(static_cast<uint32_t>(h.length));
    w.varint(h.positions.size());
    int32_t previous = 0;
    for (size_t i = 0; i < h.positions.size(); ++i) {
      const int32_t p = h.positions[i];
      if (p < 0 || (i > 0 && p <= previous)) {
        fail(h.request_id, "retention positions of layer {} head {} must be sorted, unique and >= 0", h.layer, h.head);
      }
      w.varint(static_cast<uint64_t>(i == 0 ? p : p - previous));
      previous = p;
    }
  }
  return w.take();
}

std::vector<HeadRetention> decode_retention(std::span<const uint8_t> blob, const std::string& where) {
  Reader r(blob, where);
  r.expect_format(kRetentionBlobFormat, "retention");
  // Every item takes at least one byte, so counts above the bytes left are garbage.
  const uint64_t n_ids = r.bounded("request count", r.remaining());
  std::vector<std::string> ids;
  ids.reserve(n_ids);
  for (uint64_t i = 0; i < n_ids; ++i) ids.push_back(r.text("request id length"));
  const uint64_t n_heads = r.bounded("entry count", r.remaining());
  std::vector<HeadRetention> heads;
  heads.reserve(n_heads);
  for (uint64_t e = 0; e < n_heads; ++e) {
    HeadRetention h;
    const uint64_t id = r.varint("request index");
    if (id >= ids.size()) fail(where, "entry {} names request index {} of {}", e, id, ids.size());
    h.request_id = ids[id];
    h.layer = static_cast<int32_t>(r.bounded("layer", kMaxInt32));
    h.head = static_cast<int32_t>(r.bounded("head", kMaxInt32));
    h.length = static_cast<int32_t>(r.bounded("length", kMaxInt32));
    const uint64_t n = r.bounded("position count", r.remaining());
    h.positions.reserve(n);
    uint64_t p = 0;
    for (uint64_t i = 0; i < n; ++i) {
      p += r.varint("position");
      if (p > kMaxInt32) fail(where, "position {} out of range", p);
      h.positions.push_back(static_cast<int32_t>(p));
    }
    heads.push_back(std::move(h));
  }
  r.expect_end();
  return heads;
}

std::vector<uint8_t> encode_counts(const std::vector<int64_t>& counts) {
  Writer w;
  w.byte(kCountsBlobFormat);
  w.varint(counts.size());
  for (int64_t c : counts) {
    if (c < 0) fail("counts blob", "count {} is negative", c);
    w.varint(static_cast<uint64_t>(c));
  }
  return w.take();
}

std::vector<int64_t> decode_counts(std::span<const uint8_t> blob, const std::string& where) {
  Reader r(blob, where);
  r.expect_format(kCountsBlobFormat, "counts");
  const uint64_t n = r.bounded("count", r.remaining());
  std::vector<int64_t> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(static_cast<int64_t>(r.bounded("value", INT64_MAX)));
  r.expect_end();
  return out;
}

std::vector<uint8_t> encode_eviction_map(const EvictionMap& map) {
  Writer w;
  w.byte(kEvictionMapBlobFormat);
  w.text(map.request_id);
  w.varint(static_cast<uint64_t>(map.step));
  w.varint(static_cast<uint64_t>(map.context_length));
  w.varint(map.heads.size());
  const auto n = static_cast<size_t>(map.context_length);
  for (const HeadEvictions& h : map.heads) {
    if (h.evicted_at_step.size() != n || h.scores.size() != n) {
      fail(map.request_id, "eviction map of layer {} head {} has {} steps and {} scores for a context of {}", h.layer,
           h.head, h.evicted_at_step.size(), h.scores.size(), n);
    }
    w.varint(static_cast<uint32_t>(h.layer));
    w.varint(static_cast<uint32_t>(h.head));
    for (int32_t s : h.evicted_at_step) {
      if (s < -1) fail(map.request_id, "eviction step {} (use -1 for kept)", s);
      w.varint(static_cast<uint64_t>(static_cast<int64_t>(s) + 1));
    }
    for (float f : h.scores) w.f32(f);
  }
  return w.take();
}

EvictionMap decode_eviction_map(std::span<const uint8_t> blob, const std::string& where) {
  Reader r(blob, where);
  r.expect_format(kEvictionMapBlobFormat, "eviction map");
  EvictionMap map;
  map.request_id = r.text("request id length");
  map.step = static_cast<int64_t>(r.bounded("step", INT64_MAX));
  // Each position of each head takes at least 5 bytes (a varint and a float).
  map.context_length = static_cast<int64_t>(r.bounded("context length", r.remaining() / 5));
  const uint64_t n_heads = r.bounded("head count", r.remaining());
  const auto n = static_cast<size_t>(map.context_length);
  for (uint64_t i = 0; i < n_heads; ++i) {
    HeadEvictions h;
    h.layer = static_cast<int32_t>(r.bounded("layer", kMaxInt32));
    h.head = static_cast<int32_t>(r.bounded("head", kMaxInt32));
    h.evicted_at_step.reserve(n);
    for (size_t p = 0; p < n; ++p) {
      h.evicted_at_step.push_back(static_cast<int32_t>(r.bounded("eviction step", kMaxInt32)) - 1);
    }
    h.scores.reserve(n);
    for (size_t p = 0; p < n; ++p) h.scores.push_back(r.f32());
    map.heads.push_back(std::move(h));
  }
  r.expect_end();
  return map;
}

std::vector<uint8_t> encode_tokens(const RequestTokens& t) {
  if (t.ids.size() != t.pieces.size()) {
    fail(t.request_id, "{} token ids and {} text pieces", t.ids.size(), t.pieces.size());
  }
  if (t.prompt_tokens < 0 || static_cast<size_t>(t.prompt_tokens) > t.ids.size()) {
    fail(t.request_id, "prompt of {} tokens in {} tokens", t.prompt_tokens, t.ids.size());
  }
  Writer w;
  w.byte(kTokensBlobFormat);
  w.varint(static_cast<uint64_t>(t.prompt_tokens));
  w.varint(t.ids.size());
  for (size_t i = 0; i < t.ids.size(); ++i) {
    w.varint(static_cast<uint32_t>(t.ids[i]));
    w.text(t.pieces[i]);
  }
  return w.take();
}

RequestTokens decode_tokens(std::span<const uint8_t> blob, const std::string& where) {
  Reader r(blob, where);
  r.expect_format(kTokensBlobFormat, "tokens");
  RequestTokens t;
  const uint64_t prompt = r.varint("prompt token count");
  // Each token takes at least 2 bytes (its id and its piece length).
  const uint64_t n = r.bounded("token count", r.remaining() / 2);
  if (prompt > n) fail(where, "prompt of {} tokens in {} tokens", prompt, n);
  t.prompt_tokens = static_cast<int64_t>(prompt);
  t.ids.reserve(n);
  t.pieces.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    t.ids.push_back(static_cast<int32_t>(static_cast<uint32_t>(r.bounded("token id", UINT32_MAX))));
    t.pieces.push_back(r.text("piece length"));
  }
  r.expect_end();
  return t;
}

}  // namespace kvwb
