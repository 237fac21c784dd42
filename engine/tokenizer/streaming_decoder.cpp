// StreamingDecoder: decodes a short window of recent ids to raw bytes and releases the bytes
// that can no longer change, holding back a character whose bytes have not all arrived.
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace kvwb {

std::string StreamingDecoder::push(int32_t id) {
  ids_.push_back(id);
  const std::string raw = tokenizer_.decode_raw(ids_, skip_special_);
  const size_t tail = utf8::incomplete_tail(raw);
  const size_t ready = raw.size() - tail;
  std::string out;
  if (ready > emitted_bytes_) {
    out = utf8::to_valid(std::string_view(raw).substr(emitted_bytes_, ready - emitted_bytes_));
    emitted_bytes_ = ready;
  }
  if (tail == 0) {
    // Everything is out: keep only this id as context for the next one, so the window (and the
    // cost of push) stays small however long the generation runs.
    ids_.assign(1, id);
    emitted_bytes_ = tokenizer_.decode_raw(ids_, skip_special_).size();
  }
  return out;
}

std::string StreamingDecoder::flush() {
  const std::string raw = tokenizer_.decode_raw(ids_, skip_special_);
  std::string out;
  if (raw.size() > emitted_bytes_) out = utf8::to_valid(std::string_view(raw).substr(emitted_bytes_));
  ids_.clear();
  emitted_bytes_ = 0;
  return out;
}

}  // namespace kvwb
