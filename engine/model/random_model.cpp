#include "engine/model/random_model.h"

#include <cmath>
#include <random>

#include "engine/core/error.h"
#include "kernels/half.h"

namespace kvwb {
namespace {

kernels::Matrix random_matrix(ModelWeights& w, int64_t rows, int64_t cols, kernels::DType dtype, std::mt19937_64& rng) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(cols));
  std::uniform_real_distribution<float> dist(-scale, scale);
  const size_t n = static_cast<size_t>(rows * cols);
  std::vector<uint8_t> bytes(kernels::dtype_bytes(dtype, rows * cols));
  if (dtype == kernels::DType::F32) {
    auto* p = reinterpret_cast<float*>(bytes.data());
    for (size_t i = 0; i < n; ++i) p[i] = dist(rng);
  } else if (dtype == kernels::DType::BF16 || dtype == kernels::DType::F16) {
    auto* p = reinterpret_cast<uint16_t*>(bytes.data());
    for (size_t i = 0; i < n; ++i) p[i] = dtype == kernels::DType::BF16 ? f32_to_bf16(dist(rng)) : f32_to_f16(dist(rng));
  } else {
    fail("random model", "weights dtype {} is not supported for random weights", kernels::dtype_info(dtype).name);
  }
  w.realigned.push_back(std::move(bytes));
  return {dtype, rows, cols, w.realigned.back().data()};
}

}  // namespace

std::unique_ptr<Model> make_random_model(const ModelConfig& c, kernels::DType dtype, uint64_t seed) {
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.num_kv_heads <= 0 || c.head_dim <= 0 ||
      c.vocab_size <= 0 || c.intermediate_size <= 0) {
    fail("random model", "config has a non-positive size");
  }
  auto model = std::make_unique<Model>();
  model->path = "(random weights)";
  model->config = c;
  ModelWeights& w = model->weights;
  // realigned must not reallocate while matrices point into its elements' buffers: the
  // vectors' heap buffers stay put when the outer vector grows, so this is safe.
  std::mt19937_64 rng(seed);
  w.embed = random_matrix(w, c.vocab_size, c.hidden_size, dtype, rng);
  w.lm_head = c.tie_word_embeddings ? w.embed : random_matrix(w, c.vocab_size, c.hidden_size, dtype, rng);
  w.final_norm.assign(static_cast<size_t>(c.hidden_size), 1.0f);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerWeights lw;
    lw.q = random_matrix(w, c.num_heads * c.head_dim, c.hidden_size, dtype, rng);
    lw.k = random_matrix(w, c.num_kv_heads * c.head_dim, c.hidden_size, dtype, rng);
    lw.v = random_matrix(w, c.num_kv_heads * c.head_dim, c.hidden_size, dtype, rng);
    lw.o = random_matrix(w, c.hidden_size, c.num_heads * c.head_dim, dtype, rng);
    lw.gate = random_matrix(w, c.intermediate_size, c.hidden_size, dtype, rng);
    lw.up = random_matrix(w, c.intermediate_size, c.hidden_size, dtype, rng);
    lw.down = random_matrix(w, c.hidden_size, c.intermediate_size, dtype, rng);
    lw.attn_norm.assign(static_cast<size_t>(c.hidden_size), 1.0f);
    lw.ffn_norm.assign(static_cast<size_t>(c.hidden_size), 1.0f);
    w.layers.push_back(std::move(lw));
  }
  return model;
}

int64_t decode_weight_bytes(const Model& model) {
  auto bytes = [](const kernels::Matrix& m) { return static_cast<int64_t>(kernels::dtype_bytes(m.dtype, m.rows * m.cols)); };
  int64_t total = bytes(model.weights.lm_head);
  for (const LayerWeights& l : model.weights.layers) {
    total += bytes(l.q) + bytes(l.k) + bytes(l.v) + bytes(l.o) + bytes(l.gate) + bytes(l.up) + bytes(l.down);
  }
  return total;
}

}  // namespace kvwb
