#pragma once
// A small GGUF writer for tests: builds files from scratch or from a parsed GgufFile (to break
// one thing in an otherwise valid model), and serialises them byte for byte as the format says.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/gguf_file.h"

namespace kvwb::test {

struct GgufTensorSpec {
  std::string name;
  std::vector<int64_t> dims;  // innermost first
  uint32_t ggml_type = 0;
  std::vector<uint8_t> bytes;
  int64_t offset = -1;        // -1: laid out after the previous tensor, aligned
};

GgufValue gguf_u32(uint32_t v);
GgufValue gguf_i32(int32_t v);
GgufValue gguf_f32(float v);
GgufValue gguf_bool(bool v);
GgufValue gguf_str(std::string v);
GgufValue gguf_strings(const std::vector<std::string>& v);
GgufValue gguf_i32s(const std::vector<int32_t>& v);

class GgufBuilder {
 public:
  GgufBuilder() = default;
  explicit GgufBuilder(const GgufFile& file);  // every key and tensor of `file`, in order

  uint32_t version = 3;
  uint32_t alignment = 32;  // padding used when writing; general.alignment is a separate key
  std::vector<std::pair<std::string, GgufValue>> metadata;
  std::vector<GgufTensorSpec> tensors;

  void set(const std::string& key, GgufValue value);  // replaces or appends
  void remove(const std::string& key);
  GgufTensorSpec& tensor(const std::string& name);    // throws when absent
  void remove_tensor(const std::string& name);

  std::vector<uint8_t> bytes() const;
  void write(const std::string& path) const;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace kvwb::test
