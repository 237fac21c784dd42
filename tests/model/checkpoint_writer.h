#pragma once
// Test helpers that write small HF checkpoints (safetensors + config.json) into a temporary
// directory, including deliberately broken ones.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kvwb::test {

using nlohmann::ordered_json;

struct TensorBytes {
  std::string name;
  std::string dtype;  // safetensors name: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Encodes values as F32, F16 or BF16 (little-endian); pick values the dtype represents exactly.
std::vector<uint8_t> encode(const std::string& dtype, const std::vector<float>& values);
// Deterministic values k/8 with k in [-8, 8]: exact in every float dtype. `seed` varies them.
std::vector<float> pattern(int64_t count, int seed);

// The JSON header of tensors laid out back to back in the given order.
ordered_json safetensors_header(const std::vector<TensorBytes>& tensors);
// A whole file: length, header text (space-padded to a multiple of 8 when pad), data.
std::string safetensors_file(const std::string& header_text, const std::string& data, bool pad = true);
// The data section of tensors laid out back to back.
std::string safetensors_data(const std::vector<TensorBytes>& tensors);
// A well-formed file of these tensors.
std::string safetensors_file(const std::vector<TensorBytes>& tensors);

void write_file(const std::string& path, const std::string& bytes);

// config.json of a tiny Llama-family model (hidden 8, 2 layers, 4 heads, 2 KV heads, ...).
ordered_json tiny_config(const std::string& architecture = "LlamaForCausalLM");
// Every tensor the config needs, filled with pattern() values in `dtype` (norms and biases too).
// lm_head.weight is written when the config is untied, or when include_lm_head.
std::vector<TensorBytes> tiny_model_tensors(const ordered_json& config, const std::string& dtype,
                                            bool include_lm_head = false);
// Writes config.json and model.safetensors for these tensors.
void write_model(const std::string& dir, const ordered_json& config, const std::vector<TensorBytes>& tensors);

}  // namespace kvwb::test
