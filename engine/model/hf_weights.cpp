// HF tensor names -> ModelWeights, with every shape checked against config.json.
#include "engine/model/hf_weights.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/model/read_weights.h"
#include "engine/model/safetensors.h"
#include "kernels/half.h"

namespace kvwb {
namespace {

class WeightReader {
 public:
  WeightReader(const SafetensorsCheckpoint& ckpt, const std::string& config_path, ModelWeights& weights)
      : ckpt_(ckpt), config_path_(config_path), weights_(weights) {}

  // A weight matrix [rows, cols] in its stored dtype, pointing into the mapping.
  kernels::Matrix matrix(const std::string& name, int64_t rows, int64_t cols) {
    const SafetensorsCheckpoint::Found f = checked(name, {rows, cols});
    const kernels::DType dtype = weight_dtype(f, name);
    const uint8_t* data = f.tensor->data;
    const size_t elem = kernels::dtype_info(dtype).block_bytes;
    // Kernels read elements through typed pointers; a misaligned tensor (possible when the
    // writer did not pad the header to 8 bytes) is copied once instead.
    if (reinterpret_cast<uintptr_t>(data) % elem != 0) {
      weights_.realigned.emplace_back(data, data + f.tensor->nbytes);
      data = weights_.realigned.back().data();
    }
    return {dtype, rows, cols, data};
  }

  // A vector [n] widened to f32 (norm weights, biases).
  std::vector<float> vector(const std::string& name, int64_t n) {
    const SafetensorsCheckpoint::Found f = checked(name, {n});
    const kernels::DType dtype = weight_dtype(f, name);
    std::vector<float> out(static_cast<size_t>(n));
    const uint8_t* p = f.tensor->data;
    for (size_t i = 0; i < out.size(); ++i) {
      if (dtype == kernels::DType::F32) {
        std::memcpy(&out[i], p + 4 * i, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = dtype == kernels::DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
    }
    return out;
  }

 private:
  SafetensorsCheckpoint::Found checked(const std::string& name, const std::vector<int64_t>& shape) {
    const SafetensorsCheckpoint::Found f = ckpt_.find(name);
    if (f.tensor == nullptr) fail(ckpt_.listing_path(), "missing tensor '{}'", name);
    if (f.tensor->shape != shape)
      fail(*f.file, "tensor '{}' has shape {}, expected {} from {}", name, format_shape(f.tensor->shape),
           format_shape(shape), config_path_);
    return f;
  }

  static kernels::DType weight_dtype(const SafetensorsCheckpoint::Found& f, const std::string& name) {
    const std::optional<kernels::DType> dtype = safetensors_weight_dtype(f.tensor->dtype);
    if (!dtype) fail(*f.file, "tensor '{}' has dtype {}; weights must be F32, F16 or BF16", name, f.tensor->dtype);
    return *dtype;
  }

  const SafetensorsCheckpoint& ckpt_;
  const std::string& config_path_;
  ModelWeights& weights_;
};

// transformers' tensor names (LlamaForCausalLM's state dict).
std::string hf_layer_tensor(int64_t layer, LayerTensor t) {
  const char* suffix = "";
  switch (t) {
    case LayerTensor::q: suffix = "self_attn.q_proj.weight"; break;
    case LayerTensor::k: suffix = "self_attn.k_proj.weight"; break;
    case LayerTensor::v: suffix = "self_attn.v_proj.weight"; break;
    case LayerTensor::o: suffix = "self_attn.o_proj.weight"; break;
    case LayerTensor::q_bias: suffix = "self_attn.q_proj.bias"; break;
    case LayerTensor::k_bias: suffix = "self_attn.k_proj.bias"; break;
    case LayerTensor::v_bias: suffix = "self_attn.v_proj.bias"; break;
    case LayerTensor::o_bias: suffix = "self_attn.o_proj.bias"; break;
    case LayerTensor::gate: suffix = "mlp.gate_proj.weight"; break;
    case LayerTensor::up: suffix = "mlp.up_proj.weight"; break;
    case LayerTensor::down: suffix = "mlp.down_proj.weight"; break;
    case LayerTensor::attn_norm: suffix = "input_layernorm.weight"; break;
    case LayerTensor::ffn_norm: suffix = "post_attention_layernorm.weight"; break;
  }
  return fmt::format("model.layers.{}.{}", layer, suffix);
}

}  // namespace

ModelWeights load_hf_weights(const std::string& model_dir, const ModelConfig& c, const std::string& config_path) {
  SafetensorsCheckpoint ckpt(model_dir);
  ModelWeights w;
  WeightReader r(ckpt, config_path, w);
  read_weights(r, c, {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight", hf_layer_tensor}, w);
  w.rope_style = kernels::RopeStyle::Half;
  w.files = std::move(ckpt).take_mappings();
  return w;
}

}  // namespace kvwb
