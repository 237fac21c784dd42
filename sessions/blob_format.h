#pragma once
// Compact binary forms of the two bulky per-step values of a session, stored as SQLite blobs.
// Each blob starts with a format byte; decoding checks every length against the blob and
// throws Error("<where>: ...") on a truncated or malformed one. Formats (docs/sessions.md):
//
// Retention, format 1. Integers are unsigned LEB128 varints ("v"):
//   u8 format = 1
//   v  request count R, then R times: v byte length, UTF-8 request id
//   v  entry count E, then E times (one per (request, layer, KV head)):
//      v request index (< R), v layer, v head, v length (retained slots),
//      v position count P, then P positions as deltas: the first absolute, then each minus
//      the previous (positions are sorted and unique, so deltas after the first are >= 1)
//
// Eviction map, format 1:
//   u8 format = 1
//   v  request id byte length, UTF-8 request id
//   v  step (the last step the map covers)
//   v  context length N
//   v  head count H, then H times:
//      v layer, v head,
//      N times v (evicted_at_step + 1): 0 = kept, k + 1 = evicted at step k,
//      N times f32 little-endian score (NaN = none reported)
//
// Counts (a step's evictions per (layer, KV head)), format 1:
//   u8 format = 1
//   v  count N, then N times v value
//
// Request tokens, format 1 (the request id is the row's key, not in the blob):
//   u8 format = 1
//   v  prompt token count P (<= N)
//   v  token count N, then N times: v token id (as uint32), v piece byte length, piece bytes
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sessions/session_types.h"

namespace kvwb {

inline constexpr uint8_t kRetentionBlobFormat = 1;
inline constexpr uint8_t kEvictionMapBlobFormat = 1;

std::vector<uint8_t> encode_retention(const std::vector<HeadRetention>& heads);
std::vector<HeadRetention> decode_retention(std::span<const uint8_t> blob, const std::string& where);

inline constexpr uint8_t kCountsBlobFormat = 1;

std::vector<uint8_t> encode_counts(const std::vector<int64_t>& counts);  // counts must be >= 0
std::vector<int64_t> decode_counts(std::span<const uint8_t> blob, const std::string& where);

inline constexpr uint8_t kTokensBlobFormat = 1;

std::vector<uint8_t> encode_tokens(const RequestTokens& tokens);
// Fills everything but request_id.
RequestTokens decode_tokens(std::span<const uint8_t> blob, const std::string& where);

std::vector<uint8_t> encode_eviction_map(const EvictionMap& map);
EvictionMap decode_eviction_map(std::span<const uint8_t> blob, const std::string& where);

}  // namespace kvwb
