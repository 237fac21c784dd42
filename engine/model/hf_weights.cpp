// HF tensor names -> ModelWeights, with every shape checked against config.json.
#include "engine/model/hf_weights.h"

#include <cstring>

#include "engine/core/error.h"
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

}  // namespace

ModelWeights load_hf_weights(const std::string& model_dir, const ModelConfig& c, const std::string& config_path) {
  SafetensorsCheckpoint ckpt(model_dir);
  ModelWeights w;
  WeightReader r(ckpt, config_path, w);
  const int64_t hidden = c.hidden_size, q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;

  w.embed = r.matrix("model.embed_tokens.weight", c.vocab_size, hidden);
  // Tied models may still store lm_head.weight; transformers ignores it and so do we.
  w.lm_head = c.tie_word_embeddings ? w.embed : r.matrix("lm_head.weight", c.vocab_size, hidden);
  w.final_norm = r.vector("model.norm.weight", hidden);
  w.layers.resize(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    const std::string attn = fmt::format("model.layers.{}.self_attn.", i);
    const std::string mlp = fmt::format("model.layers.{}.mlp.", i);
    const std::string layer = fmt::format("model.layers.{}.", i);
    l.q = r.matrix(attn + "q_proj.weight", q_dim, hidden);
    l.k = r.matrix(attn + "k_proj.weight", kv_dim, hidden);
    l.v = r.matrix(attn + "v_proj.weight", kv_dim, hidden);
    l.o = r.matrix(attn + "o_proj.weight", hidden, q_dim);
    if (c.attention_bias) {
      l.q_bias = r.vector(attn + "q_proj.bias", q_dim);
      l.k_bias = r.vector(attn + "k_proj.bias", kv_dim);
      l.v_bias = r.vector(attn + "v_proj.bias", kv_dim);
    }
    if (c.o_proj_bias) l.o_bias = r.vector(attn + "o_proj.bias", hidden);
    l.gate = r.matrix(mlp + "gate_proj.weight", c.intermediate_size, hidden);
    l.up = r.matrix(mlp + "up_proj.weight", c.intermediate_size, hidden);
    l.down = r.matrix(mlp + "down_proj.weight", hidden, c.intermediate_size);
    l.attn_norm = r.vector(layer + "input_layernorm.weight", hidden);
    l.ffn_norm = r.vector(layer + "post_attention_layernorm.weight", hidden);
  }
  w.rope_style = kernels::RopeStyle::Half;
  w.files = std::move(ckpt).take_mappings();
  return w;
}

}  // namespace kvwb
