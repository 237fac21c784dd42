// rope_inv_freq against a hand-computed case and golden values from transformers 4.46.3
// (modeling_rope_utils.ROPE_INIT_FUNCTIONS, float32).
#include <gtest/gtest.h>

#include "engine/model/model_config.h"

namespace kvwb {
namespace {

void expect_rel_near(float actual, double expected, const char* what, size_t i) {
  EXPECT_NEAR(actual, expected, 1e-6 * expected) << what << " index " << i;
}

TEST(RopeInvFreq, PlainRopeIsThetaToTheMinusTwoIOverD) {
  ModelConfig c;
  c.head_dim = 4;
  c.rope_theta = 10000.0f;
  // 10000^(-0/4) = 1, 10000^(-2/4) = 1/100.
  const std::vector<float> f = rope_inv_freq(c);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_FLOAT_EQ(f[1], 0.01f);

  c.head_dim = 64;  // transformers: _compute_default_rope_parameters, dim 64, base 10000
  const std::vector<float> g = rope_inv_freq(c);
  ASSERT_EQ(g.size(), 32u);
  expect_rel_near(g[0], 1.0, "default", 0);
  expect_rel_near(g[5], 0.23713736236095428, "default", 5);
  expect_rel_near(g[31], 0.0001333521504420787, "default", 31);
}

TEST(RopeInvFreq, Llama3ScalingHandComputed) {
  // head_dim 6, theta 1e6: unscaled frequencies 1, 1e-2, 1e-4, wavelengths 2*pi / f =
  // 6.28, 628.3, 62832. original context 1024, low 1, high 4: wavelengths below 1024/4 = 256
  // keep f; above 1024/1 = 1024 get f / 8; between, smooth = (1024 / 628.3185 - 1) / (4 - 1)
  // = 0.2099157 and f = 0.01 * ((1 - smooth) / 8 + smooth) = 0.003086762.
  ModelConfig c;
  c.head_dim = 6;
  c.rope_theta = 1e6f;
  c.rope_scaling = {"llama3", 8.0f, 1.0f, 4.0f, 1024};
  const std::vector<float> f = rope_inv_freq(c);
  ASSERT_EQ(f.size(), 3u);
  expect_rel_near(f[0], 1.0, "high frequency kept", 0);
  expect_rel_near(f[1], 0.003086762, "medium frequency smoothed", 1);
  expect_rel_near(f[2], 1.25e-5, "low frequency divided by factor", 2);
}

TEST(RopeInvFreq, Llama31GoldenValuesFromTransformers) {
  // Llama 3.1 8B: head_dim 128, theta 500000, factor 8, low 1, high 4, original 8192.
  // Indices 28 (kept), 29-35 (smoothed band), 36+ (divided) cover all three regimes.
  ModelConfig c;
  c.head_dim = 128;
  c.rope_theta = 500000.0f;
  c.rope_scaling = {"llama3", 8.0f, 1.0f, 4.0f, 8192};
  const std::vector<float> f = rope_inv_freq(c);
  ASSERT_EQ(f.size(), 64u);
  const std::pair<size_t, double> golden[] = {
      {0, 1.0},
      {1, 0.8146172165870667},
      {20, 0.016560440883040428},
      {28, 0.0032114461064338684},
      {29, 0.0021665706299245358},
      {30, 0.0013718936825171113},
      {33, 0.0003126936499029398},
      {35, 9.556212171446532e-05},
      {36, 7.784655463183299e-05},
      {40, 3.428102354519069e-05},
      {50, 4.411534519022098e-06},
      {63, 3.068925877869333e-07},
  };
  for (const auto& [i, expected] : golden) expect_rel_near(f[i], expected, "llama3.1", i);
}

}  // namespace
}  // namespace kvwb
