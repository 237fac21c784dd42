#pragma once
// safetensors files (HF): an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data;
// offsets count from byte 8 + N. Files are memory-mapped and the whole header is validated at
// open, so every tensor handed out lies inside the file and matches its shape and dtype.
// A checkpoint is one model.safetensors or shards listed in model.safetensors.index.json.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/mapped_file.h"
#include "kernels/dtype.h"

namespace kvwb {

struct SafetensorsTensor {
  std::string dtype;            // as written: "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping; nbytes of it
  size_t nbytes = 0;
};

// Bytes per element of a safetensors dtype name; 0 when the name is unknown.
size_t safetensors_dtype_size(std::string_view dtype);
// The kernel dtype of a weight (F32, F16, BF16); nullopt for every other dtype.
std::optional<kernels::DType> safetensors_weight_dtype(std::string_view dtype);
// "[2, 3]"
std::string format_shape(const std::vector<int64_t>& shape);

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // maps and validates; throws Error

  const std::string& path() const { return file_.path(); }
  const SafetensorsTensor* find(std::string_view name) const;  // null when absent
  const std::map<std::string, SafetensorsTensor, std::less<>>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Hands over the mapping (tensor pointers stay valid as long as it lives).
  MappedFile take_mapping() && { return std::move(file_); }

 private:
  MappedFile file_;
  std::map<std::string, SafetensorsTensor, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The weights of an HF model directory: model.safetensors, or the shards named by
// model.safetensors.index.json (weight_map: tensor name -> file name in the same directory).
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& model_dir);  // throws Error

  struct Found {
    const SafetensorsTensor* tensor = nullptr;  // null when the checkpoint lacks the tensor
    const std::string* file = nullptr;          // the file that holds it (for error messages)
  };
  Found find(std::string_view name) const;
  // Where a missing tensor would have been listed: model.safetensors or the index file.
  const std::string& listing_path() const { return listing_path_; }
  // Hands over every mapping (tensor pointers stay valid as long as they live).
  std::vector<MappedFile> take_mappings() &&;

 private:
  std::string listing_path_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t, std::less<>> file_of_tensor_;  // index into files_
};

}  // namespace kvwb
