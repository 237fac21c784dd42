#include "engine/runtime/policies/slot_selector.h"

#include <algorithm>

#include "engine/core/error.h"

namespace kvwb {

void SlotSelector::score(const KvCache& cache, int32_t seq, const kernels::SlotScoring& scoring) {
  if (backend_ != &cache.backend()) fail("eviction", "the cache lives on another backend than the selector");
  const KvCacheShape& shape = cache.shape();
  std::vector<int32_t> indptr{0}, indices;
  lengths_.clear();
  offsets_.assign(1, 0);
  for (int64_t l = 0; l < shape.num_layers; ++l) {
    for (int64_t h = 0; h < shape.num_kv_heads; ++h) {
      const std::vector<int32_t>& blocks = cache.block_table(seq, l, h);
      indices.insert(indices.end(), blocks.begin(), blocks.end());
      indptr.push_back(static_cast<int32_t>(indices.size()));
      lengths_.push_back(static_cast<int32_t>(cache.length(seq, l, h)));
      offsets_.push_back(offsets_.back() + lengths_.back());
    }
  }
  kernels::PagedKv kv = cache.pool_view();
  kv.indptr = indptr_.upload(indptr);
  kv.indices = indices_.upload(indices);
  kv.lengths = lengths_dev_.upload(lengths_);
  const int32_t* offsets = offsets_dev_.upload(offsets_);
  float* scores = scores_.get<float>(static_cast<size_t>(offsets_.back()));
  backend_->score_slots(kv, static_cast<int32_t>(rows()), offsets, scoring, scores);
}

std::vector<std::vector<float>> SlotSelector::host_scores(int64_t first, int64_t count) const {
  std::vector<std::vector<float>> out(static_cast<size_t>(count));
  const auto* scores = scores_.as<const float>();
  for (int64_t i = 0; i < count; ++i) {
    const size_t r = static_cast<size_t>(first + i);
    out[static_cast<size_t>(i)].resize(static_cast<size_t>(lengths_[r]));
    if (lengths_[r] > 0) backend_->copy_to_host(out[static_cast<size_t>(i)].data(), scores + offsets_[r], lengths_[r] * sizeof(float));
  }
  return out;
}

void SlotSelector::set_row_scores(int64_t row, const std::vector<float>& scores) {
  const size_t r = static_cast<size_t>(row);
  if (static_cast<int64_t>(scores.size()) != lengths_[r]) fail("eviction", "{} scores for a row of {}", scores.size(), lengths_[r]);
  if (!scores.empty()) backend_->copy_from_host(scores_.as<float>() + offsets_[r], scores.data(), scores.size() * sizeof(float));
}

std::vector<std::vector<int64_t>> SlotSelector::victims_keeping(const std::vector<int64_t>& keep) {
  if (keep.size() != lengths_.size()) fail("eviction", "{} keep counts for {} rows", keep.size(), lengths_.size());
  std::vector<int32_t> keep32(keep.size());
  // A keep count beyond the row's length keeps the row whole (and fits in int32).
  for (size_t r = 0; r < keep.size(); ++r) keep32[r] = static_cast<int32_t>(std::clamp<int64_t>(keep[r], 0, lengths_[r]));
  kernels::SlotSelection sel;
  sel.keep = keep_.upload(keep32);
  return victims(sel);
}

std::vector<std::vector<int64_t>> SlotSelector::victims_by_groups(int64_t group_size, int64_t evict_tokens) {
  kernels::SlotSelection sel;
  sel.group_size = static_cast<int32_t>(group_size);
  sel.evict_tokens = evict_tokens;
  return victims(sel);
}

std::vector<std::vector<int64_t>> SlotSelector::victims(const kernels::SlotSelection& selection) {
  kernels::SlotSelection sel = selection;
  sel.num_rows = static_cast<int32_t>(rows());
  sel.offsets = offsets_dev_.as<const int32_t>();
  int32_t* retained = retained_.get<int32_t>(static_cast<size_t>(offsets_.back()));
  int32_t* kept_dev = kept_.get<int32_t>(lengths_.size());
  backend_->select_slots(scores_.as<const float>(), sel, retained, kept_dev);
  std::vector<int32_t> kept(lengths_.size());
  if (!kept.empty()) backend_->copy_to_host(kept.data(), kept_dev, kept.size() * sizeof(int32_t));
  std::vector<std::vector<int64_t>> out(lengths_.size());
  std::vector<int32_t> stay;
  for (size_t r = 0; r < lengths_.size(); ++r) {
    if (kept[r] >= lengths_[r]) continue;  // nothing goes: nothing to read back
    stay.resize(static_cast<size_t>(kept[r]));
    if (!stay.empty()) backend_->copy_to_host(stay.data(), retained + offsets_[r], stay.size() * sizeof(int32_t));
    size_t k = 0;
    for (int32_t i = 0; i < lengths_[r]; ++i) {
      if (k < stay.size() && stay[k] == i) ++k;
      else out[r].push_back(i);
    }
  }
  return out;
}

}  // namespace kvwb
