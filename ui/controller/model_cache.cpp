#include "ui/controller/model_cache.h"

#include <algorithm>

#include "engine/model/model_paths.h"

namespace kvwb {

std::shared_ptr<const Model> ModelCache::get(const std::string& name_or_path) {
  const std::string path = resolve_model_path(name_or_path);
  std::lock_guard lock(mutex_);
  auto it = std::find_if(models_.begin(), models_.end(), [&](const auto& e) { return e.first == path; });
  if (it != models_.end()) {
    auto entry = std::move(*it);
    models_.erase(it);
    models_.push_back(std::move(entry));
    return models_.back().second;
  }
  std::shared_ptr<const Model> model(load_model(path));
  models_.emplace_back(path, model);
  // Runs still holding an evicted model keep it alive through their shared_ptr.
  while (models_.size() > capacity_) models_.erase(models_.begin());
  return model;
}

size_t ModelCache::size() const {
  std::lock_guard lock(mutex_);
  return models_.size();
}

}  // namespace kvwb
