// The committed fixture checkpoints (tests/fixtures/models, written by transformers) load, and
// sampled values equal what the Python safetensors library reads from the same files.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/model/hf_weights.h"
#include "kernels/half.h"

namespace kvwb {
namespace {

std::string fixture(const std::string& name) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/" + name; }

float element(const kernels::Matrix& m, int64_t row, int64_t col) {
  const size_t i = static_cast<size_t>(row * m.cols + col);
  const auto* p = static_cast<const uint8_t*>(m.data);
  if (m.dtype == kernels::DType::F32) {
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return m.dtype == kernels::DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

struct Expected {
  const char* name;
  kernels::DType dtype;
  size_t files;
  bool tied;
  int64_t q_rows, k_rows;
  // safetensors (Python) values: model.norm.weight[0], layers.1 k_proj[-1, -1], embed[5, 3],
  // layers.0 q_proj.bias[0] (Qwen2 only).
  float norm0, k_last, embed_5_3, q_bias0;
};

// Written by `safe_open(f, "pt").get_tensor(...)` (safetensors 0.4, torch 1.13) on the fixtures.
const Expected kFixtures[] = {
    {"llama-bf16", kernels::DType::BF16, 1, true, 64, 32, 1.1796875f, -0.08251953125f, 0.140625f, 0},
    {"llama-f16", kernels::DType::F16, 1, true, 64, 32, 0.87744140625f, -0.033782958984375f, 0.0191650390625f, 0},
    {"llama-gqa4", kernels::DType::F32, 1, true, 128, 32, 1.0006358623504639f, 0.14384177327156067f,
     0.24230828881263733f, 0},
    {"llama-tied", kernels::DType::F32, 1, true, 64, 32, 1.186389684677124f, 0.12205670028924942f,
     -0.1610235571861267f, 0},
    {"llama-untied", kernels::DType::F32, 3, false, 64, 32, 1.3979547023773193f, 0.059762515127658844f,
     -0.17916175723075867f, 0},
    {"llama3-rope", kernels::DType::F32, 1, true, 64, 64, 1.4042738676071167f, 0.17956356704235077f,
     -0.12258780747652054f, 0},
    {"qwen2-bias", kernels::DType::F32, 1, true, 64, 32, 0.7260364294052124f, -0.163406640291214f,
     0.11298009008169174f, 0.21542802453041077f},
};

class FixtureWeights : public ::testing::TestWithParam<Expected> {};

TEST_P(FixtureWeights, LoadsWithTheValuesPythonReads) {
  const Expected& e = GetParam();
  const std::string dir = fixture(e.name);
  const ModelConfig c = load_hf_config(dir + "/config.json");
  const ModelWeights w = load_hf_weights(dir, c, dir + "/config.json");
  EXPECT_EQ(c.vocab_size, 384);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_ids, std::vector<int32_t>{0});
  EXPECT_EQ(w.files.size(), e.files);
  EXPECT_EQ(w.embed.dtype, e.dtype);
  EXPECT_EQ(w.layers[1].down.dtype, e.dtype);
  EXPECT_EQ(w.embed.rows, 384);
  EXPECT_EQ(w.layers[0].q.rows, e.q_rows);
  EXPECT_EQ(w.layers[0].o.cols, e.q_rows);
  EXPECT_EQ(w.layers[1].k.rows, e.k_rows);
  EXPECT_EQ(c.tie_word_embeddings, e.tied);
  EXPECT_EQ(w.lm_head.data == w.embed.data, e.tied);
  EXPECT_TRUE(w.realigned.empty());  // transformers pads headers: zero-copy
  EXPECT_EQ(w.final_norm[0], e.norm0);
  EXPECT_EQ(element(w.layers[1].k, w.layers[1].k.rows - 1, 63), e.k_last);
  EXPECT_EQ(element(w.embed, 5, 3), e.embed_5_3);
  if (c.architecture == Architecture::Qwen2) {
    ASSERT_EQ(w.layers[0].q_bias.size(), 64u);
    EXPECT_EQ(w.layers[0].q_bias[0], e.q_bias0);
  } else {
    EXPECT_TRUE(w.layers[0].q_bias.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureWeights, ::testing::ValuesIn(kFixtures),
                         [](const ::testing::TestParamInfo<Expected>& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(FixtureWeights, Llama3RopeScalingIsRead) {
  const ModelConfig c = load_hf_config(fixture("llama3-rope") + "/config.json");
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_FLOAT_EQ(c.rope_theta, 5e5f);
  EXPECT_EQ(c.head_dim, 32);
}

}  // namespace
}  // namespace kvwb
