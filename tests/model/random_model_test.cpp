// Random-weight models (--random-weights): shapes from config.json, values that do not depend
// on the thread count, bf16 weights that are the f32 ones rounded, and the Llama-3-8B shape.
#include "engine/model/random_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/core/error.h"
#include "kernels/half.h"

namespace kvwb {
namespace {

std::string fixture_config() { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied/config.json"; }

TEST(RandomModel, HasTheConfigShapesAByteTokenizerAndNoEndToken) {
  const auto m = load_random_model(fixture_config(), "stored");
  const ModelConfig& c = m->config;
  ASSERT_EQ(m->weights.layers.size(), static_cast<size_t>(c.num_layers));
  EXPECT_EQ(m->weights.embed.dtype, kernels::DType::BF16);  // "stored" = bf16, what such checkpoints hold
  EXPECT_EQ(m->weights.embed.rows, c.vocab_size);
  EXPECT_EQ(m->weights.embed.cols, c.hidden_size);
  EXPECT_EQ(m->weights.lm_head.data, m->weights.embed.data);  // the fixture ties them
  const LayerWeights& l = m->weights.layers[1];
  EXPECT_EQ(l.q.rows, c.num_heads * c.head_dim);
  EXPECT_EQ(l.k.rows, c.num_kv_heads * c.head_dim);
  EXPECT_EQ(l.down.cols, c.intermediate_size);
  EXPECT_EQ(l.attn_norm, std::vector<float>(static_cast<size_t>(c.hidden_size), 1.0f));
  ASSERT_NE(m->tokenizer, nullptr);
  EXPECT_TRUE(m->tokenizer->eos_ids().empty());  // every request runs its full max_new_tokens
  EXPECT_EQ(m->tokenizer->encode("ab", false), (std::vector<int32_t>{'a', 'b'}));
}

TEST(RandomModel, F32ValuesAreUniformWithinTheScaleAndBf16IsTheirRounding) {
  const auto f32 = load_random_model(fixture_config(), "f32");
  const auto bf16 = load_random_model(fixture_config(), "bf16");
  const kernels::Matrix& a = f32->weights.layers[0].gate;
  const kernels::Matrix& b = bf16->weights.layers[0].gate;
  const auto* x = static_cast<const float*>(a.data);
  const auto* y = static_cast<const uint16_t*>(b.data);
  const float scale = 1.0f / std::sqrt(static_cast<float>(a.cols));
  const int64_t n = a.rows * a.cols;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_LE(std::fabs(x[i]), scale) << i;
    ASSERT_EQ(y[i], f32_to_bf16(x[i])) << i;
    sum += x[i];
  }
  EXPECT_LT(std::fabs(sum / static_cast<double>(n)), 0.05 * scale);  // mean 0 (n = 8192: ~0.006 scale)
  EXPECT_LT(*std::min_element(x, x + n), -0.9f * scale);
  EXPECT_GT(*std::max_element(x, x + n), 0.9f * scale);
  // Different matrices of one model and different seeds get different values.
  EXPECT_NE(std::memcmp(a.data, f32->weights.layers[0].up.data, 64), 0);
  const auto other = load_random_model(fixture_config(), "f32", 2);
  EXPECT_NE(std::memcmp(a.data, other->weights.layers[0].gate.data, 64), 0);
}

TEST(RandomModel, SameSeedSameWeights) {
  const auto a = load_random_model(fixture_config(), "f16");
  const auto b = load_random_model(fixture_config(), "f16");
  const kernels::Matrix& x = a->weights.layers[1].o;
  EXPECT_EQ(std::memcmp(x.data, b->weights.layers[1].o.data, kernels::dtype_bytes(x.dtype, x.rows * x.cols)), 0);
}

TEST(RandomModel, BadDtypeAndMissingFileAreErrors) {
  try {
    load_random_model(fixture_config(), "q4_0");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "weights_dtype: must be stored, f32, f16 or bf16, got 'q4_0'");
  }
  EXPECT_THROW(load_random_model("/nonexistent/config.json", "bf16"), Error);
}

TEST(RandomModel, TheLlama3_8bBenchmarkConfigHasItsPublishedParameterCount) {
  const ModelConfig c = load_hf_config(std::string(KVWB_SOURCE_DIR) + "/bench/configs/llama-3-8b.json");
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.num_kv_heads, 8);
  const int64_t per_layer = 2 * c.hidden_size * c.num_heads * c.head_dim + 2 * c.hidden_size * c.num_kv_heads * c.head_dim +
                            3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size;
  const int64_t params = c.num_layers * per_layer + 2 * c.vocab_size * c.hidden_size + c.hidden_size;
  // Meta's model card: 8.03B parameters.
  EXPECT_NEAR(static_cast<double>(params) / 1e9, 8.03, 0.005);
}

}  // namespace
}  // namespace kvwb
