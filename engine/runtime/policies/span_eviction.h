#pragma once
// Span-granular eviction (policy.span, docs/policies.md): one row's scores and victims made
// whole per span. A slot's span is found through its original position (span_start[position],
// token_spans.h), which compaction keeps with the slot, so spans stay aligned however the row
// was compacted before. A row's positions are sorted, so a span's slots are contiguous in it.
#include <cstdint>
#include <span>
#include <vector>

namespace kvwb {

// Each slot's score becomes the largest score among its span's slots in the row. Protected
// slots (kKeep) keep their score and do not lift their span's (a span half inside the recent
// window is ranked by its other half).
void span_max_scores(std::span<const int32_t> positions, std::span<const int32_t> span_start, std::span<float> scores);

// The rows of one layer's KV heads ranked as one: every unprotected slot takes the largest
// unprotected score its position has in any of the rows. Run after span_max_scores, it makes the
// heads of a layer keep the same spans (each head keeping its own spans keeps different digits of
// one number, docs/policies.md). positions[r] and scores[r] are row r's, of equal lengths.
void shared_position_scores(std::span<const std::vector<int32_t>> positions, std::span<std::vector<float>> scores);

// victims (ascending indices into the row) grown so that a span loses all of its unprotected
// slots or none: a span the budget cuts is dropped whole, so a row keeps at most what the
// selection allowed (the budget rounds down to whole spans).
std::vector<int64_t> whole_span_victims(std::span<const int32_t> positions, std::span<const int32_t> span_start,
                                        std::span<const float> scores, const std::vector<int64_t>& victims);

}  // namespace kvwb
