#pragma once
// Loaded models shared by the workbench's runs (the main run, its full-KV reference and the
// Try panel use the same weights). Loading happens on whichever worker asks first; the others
// wait for it. Models are immutable once loaded, so sharing them across threads is safe.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/model.h"

namespace kvwb {

class ModelCache {
 public:
  explicit ModelCache(size_t capacity = 2) : capacity_(capacity) {}

  // The model at `name_or_path` (shorthands demo, smollm2 resolved); loads it when absent.
  // Throws Error when it cannot be resolved or loaded.
  std::shared_ptr<const Model> get(const std::string& name_or_path);
  size_t size() const;

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<const Model>>> models_;  // most recent last
};

}  // namespace kvwb
