#pragma once
// The weights of a Llama-family model read tensor by tensor, in one place for every checkpoint
// format: each format supplies its tensor names and a reader (gguf_model.cpp, hf_weights.cpp).
#include <cstdint>
#include <string>

#include "engine/model/model.h"
#include "engine/model/model_config.h"

namespace kvwb {

enum class LayerTensor { q, k, v, o, q_bias, k_bias, v_bias, o_bias, gate, up, down, attn_norm, ffn_norm };

struct WeightNames {
  std::string embed, lm_head, final_norm;
  std::string (*layer)(int64_t layer, LayerTensor tensor) = nullptr;
};

// Reader: matrix(name, rows, cols) -> kernels::Matrix and vector(name, n) -> std::vector<float>,
// each checking the tensor's shape and failing with the file's name.
template <typename Reader>
void read_weights(Reader& r, const ModelConfig& c, const WeightNames& names, ModelWeights& w) {
  const int64_t hidden = c.hidden_size, q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
  w.embed = r.matrix(names.embed, c.vocab_size, hidden);
  // Tied models may still store an output matrix; transformers ignores it and so do we.
  w.lm_head = c.tie_word_embeddings ? w.embed : r.matrix(names.lm_head, c.vocab_size, hidden);
  w.final_norm = r.vector(names.final_norm, hidden);
  w.layers.resize(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    const auto name = [&](LayerTensor t) { return names.layer(i, t); };
    l.q = r.matrix(name(LayerTensor::q), q_dim, hidden);
    l.k = r.matrix(name(LayerTensor::k), kv_dim, hidden);
    l.v = r.matrix(name(LayerTensor::v), kv_dim, hidden);
    l.o = r.matrix(name(LayerTensor::o), hidden, q_dim);
    if (c.attention_bias) {
      l.q_bias = r.vector(name(LayerTensor::q_bias), q_dim);
      l.k_bias = r.vector(name(LayerTensor::k_bias), kv_dim);
      l.v_bias = r.vector(name(LayerTensor::v_bias), kv_dim);
    }
    if (c.o_proj_bias) l.o_bias = r.vector(name(LayerTensor::o_bias), hidden);
    l.gate = r.matrix(name(LayerTensor::gate), c.intermediate_size, hidden);
    l.up = r.matrix(name(LayerTensor::up), c.intermediate_size, hidden);
    l.down = r.matrix(name(LayerTensor::down), hidden, c.intermediate_size);
    l.attn_norm = r.vector(name(LayerTensor::attn_norm), hidden);
    l.ffn_norm = r.vector(name(LayerTensor::ffn_norm), hidden);
  }
}

}  // namespace kvwb
