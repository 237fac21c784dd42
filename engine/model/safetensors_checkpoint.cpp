// A model directory's safetensors: one file, or shards listed by an index (like transformers,
// a single model.safetensors wins when both are present).
#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/model/safetensors.h"

namespace kvwb {
namespace fs = std::filesystem;

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& model_dir) {
  const fs::path dir(model_dir);
  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(single, ec)) {
    listing_path_ = single.string();
    files_.push_back(std::make_unique<SafetensorsFile>(listing_path_));
    for (const auto& [name, tensor] : files_[0]->tensors()) file_of_tensor_.emplace(name, 0);
    return;
  }
  if (!fs::exists(index, ec))
    fail(model_dir, "no weights: neither model.safetensors nor model.safetensors.index.json is present");

  listing_path_ = index.string();
  const Json j = read_json_file(listing_path_);
  if (!j.is_object()) fail(listing_path_, "expected a JSON object at the top level");
  auto map = j.find("weight_map");
  if (map == j.end() || !map->is_object()) fail(listing_path_, "missing or malformed field 'weight_map' (an object)");

  std::map<std::string, size_t> shard_index;  // file name -> index into files_
  for (auto it = map->begin(); it != map->end(); ++it) {
    const std::string& tensor = it.key();
    if (!it.value().is_string()) fail(listing_path_, "weight_map entry '{}' is not a file name", tensor);
    const std::string shard = it.value().get<std::string>();
    // Shards live beside the index; a path elsewhere is a corrupt (or hostile) index.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      fail(listing_path_, "weight_map entry '{}' names '{}', which is not a file in the model directory", tensor,
           shard);
    auto [slot, added] = shard_index.emplace(shard, files_.size());
    if (added) {
      const fs::path shard_path = dir / shard;
      if (!fs::exists(shard_path, ec))
        fail(listing_path_, "shard '{}' (holding tensor '{}') is missing", shard, tensor);
      files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
    }
    if (files_[slot->second]->find(tensor) == nullptr)
      fail(files_[slot->second]->path(), "tensor '{}' is listed in {} but absent from this shard", tensor,
           listing_path_);
    file_of_tensor_.emplace(tensor, slot->second);
  }
}

SafetensorsCheckpoint::Found SafetensorsCheckpoint::find(std::string_view name) const {
  auto it = file_of_tensor_.find(name);
  if (it == file_of_tensor_.end()) return {};
  const SafetensorsFile& f = *files_[it->second];
  return {f.find(name), &f.path()};
}

std::vector<MappedFile> SafetensorsCheckpoint::take_mappings() && {
  std::vector<MappedFile> out;
  for (auto& f : files_) out.push_back(std::move(*f).take_mapping());
  files_.clear();
  file_of_tensor_.clear();
  return out;
}

}  // namespace kvwb
