#include "engine/model/random_model.h"

#include <cmath>

#include "engine/core/error.h"
#include "engine/model/convert_weights.h"
#include "engine/tokenizer/byte_tokenizer.h"
#include "kernels/half.h"

namespace kvwb {
namespace {

// splitmix64 of a counter: a uniform 64-bit value per (stream, index), computed independently
// for every element so the fill is parallel and its result independent of the thread count.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

kernels::Matrix random_matrix(ModelWeights& w, int64_t rows, int64_t cols, kernels::DType dtype, uint64_t stream) {
  if (dtype != kernels::DType::F32 && dtype != kernels::DType::BF16 && dtype != kernels::DType::F16) {
    fail("random model", "weights dtype {} is not supported for random weights", kernels::dtype_info(dtype).name);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(cols));
  const int64_t n = rows * cols;
  std::vector<uint8_t> bytes(kernels::dtype_bytes(dtype, n));
  auto* f32 = reinterpret_cast<float*>(bytes.data());
  auto* u16 = reinterpret_cast<uint16_t*>(bytes.data());
  const uint64_t base = mix(stream) << 20;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    // 24 random bits -> [-1, 1) -> ±scale.
    const float u = static_cast<float>(mix(base + static_cast<uint64_t>(i)) >> 40) * 0x1p-23f - 1.0f;
    const float v = u * scale;
    if (dtype == kernels::DType::F32) f32[i] = v;
    else u16[i] = dtype == kernels::DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
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
  uint64_t stream = seed * 0x100000001b3ull;
  w.embed = random_matrix(w, c.vocab_size, c.hidden_size, dtype, ++stream);
  w.lm_head = c.tie_word_embeddings ? w.embed : random_matrix(w, c.vocab_size, c.hidden_size, dtype, ++stream);
  w.final_norm.assign(static_cast<size_t>(c.hidden_size), 1.0f);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerWeights lw;
    lw.q = random_matrix(w, c.num_heads * c.head_dim, c.hidden_size, dtype, ++stream);
    lw.k = random_matrix(w, c.num_kv_heads * c.head_dim, c.hidden_size, dtype, ++stream);
    lw.v = random_matrix(w, c.num_kv_heads * c.head_dim, c.hidden_size, dtype, ++stream);
    lw.o = random_matrix(w, c.hidden_size, c.num_heads * c.head_dim, dtype, ++stream);
    lw.gate = random_matrix(w, c.intermediate_size, c.hidden_size, dtype, ++stream);
    lw.up = random_matrix(w, c.intermediate_size, c.hidden_size, dtype, ++stream);
    lw.down = random_matrix(w, c.hidden_size, c.intermediate_size, dtype, ++stream);
    lw.attn_norm.assign(static_cast<size_t>(c.hidden_size), 1.0f);
    lw.ffn_norm.assign(static_cast<size_t>(c.hidden_size), 1.0f);
    if (c.attention_bias) {
      lw.q_bias.assign(static_cast<size_t>(c.num_heads * c.head_dim), 0.0f);
      lw.k_bias.assign(static_cast<size_t>(c.num_kv_heads * c.head_dim), 0.0f);
      lw.v_bias.assign(static_cast<size_t>(c.num_kv_heads * c.head_dim), 0.0f);
    }
    if (c.o_proj_bias) lw.o_bias.assign(static_cast<size_t>(c.hidden_size), 0.0f);
    w.layers.push_back(std::move(lw));
  }
  return model;
}

std::unique_ptr<Model> load_random_model(const std::string& config_json, const std::string& weights_dtype, uint64_t seed) {
  kernels::DType dtype = kernels::DType::BF16;  // "stored": what checkpoints of such shapes hold
  weights_dtype_from_name(weights_dtype, dtype);
  std::unique_ptr<Model> model = make_random_model(load_hf_config(config_json), dtype, seed);
  model->path = config_json + " (random weights)";
  model->tokenizer = std::make_unique<ByteTokenizer>(std::vector<AddedToken>{}, SpecialTokenIds{}, config_json);
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
