// weights_dtype: converting a loaded model's matrices (f32 <-> f16 <-> bf16), exactly where the
// target holds the value, with tied embeddings kept tied.
#include "engine/model/convert_weights.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/core/error.h"
#include "kernels/half.h"
#include "kernels/quant.h"

namespace kvwb {
namespace {

std::string fixture(const std::string& name) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/" + name; }

TEST(ConvertWeights, Bf16ToF32IsExactAndBackIsTheSameBytes) {
  const auto original = load_model(fixture("llama-bf16"));
  auto model = load_model(fixture("llama-bf16"));
  ASSERT_EQ(original->weights.layers[0].q.dtype, kernels::DType::BF16);
  convert_weights(*model, kernels::DType::F32);
  const kernels::Matrix& a = original->weights.layers[0].q;
  const kernels::Matrix& b = model->weights.layers[0].q;
  ASSERT_EQ(b.dtype, kernels::DType::F32);
  ASSERT_EQ(b.rows, a.rows);
  for (int64_t i = 0; i < a.rows * a.cols; ++i) {
    ASSERT_EQ(static_cast<const float*>(b.data)[i], bf16_to_f32(static_cast<const uint16_t*>(a.data)[i])) << i;
  }
  convert_weights(*model, kernels::DType::BF16);
  for (size_t l = 0; l < model->weights.layers.size(); ++l) {
    const kernels::Matrix& x = original->weights.layers[l].down;
    const kernels::Matrix& y = model->weights.layers[l].down;
    ASSERT_EQ(y.dtype, kernels::DType::BF16);
    EXPECT_EQ(std::memcmp(x.data, y.data, kernels::dtype_bytes(x.dtype, x.rows * x.cols)), 0) << "layer " << l;
  }
}

TEST(ConvertWeights, F32ToF16RoundsAndTiedEmbeddingsStayTied) {
  auto model = load_model(fixture("llama-tied"));
  ASSERT_EQ(model->weights.lm_head.data, model->weights.embed.data);
  const kernels::Matrix before = model->weights.embed;
  std::vector<float> values(static_cast<const float*>(before.data),
                            static_cast<const float*>(before.data) + before.rows * before.cols);
  convert_weights(*model, kernels::DType::F16);
  EXPECT_EQ(model->weights.lm_head.data, model->weights.embed.data);
  EXPECT_EQ(model->weights.lm_head.dtype, kernels::DType::F16);
  const auto* h = static_cast<const uint16_t*>(model->weights.embed.data);
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(h[i], f32_to_f16(values[i])) << i;
}

// A quantized GGUF (Q8_0, Q4_0, Q4_1 blocks) converted to f32 holds the reference
// dequantization exactly, and to bf16 its rounding; the tied embedding stays tied.
TEST(ConvertWeights, QuantizedGgufIsDequantizedExactly) {
  const std::string path = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/gguf/llama-tied.gguf";
  const auto original = load_model(path);
  ASSERT_TRUE(kernels::is_quantized(original->weights.layers[0].q.dtype));
  for (kernels::DType target : {kernels::DType::F32, kernels::DType::BF16}) {
    auto model = load_model(path);
    convert_weights(*model, target);
    EXPECT_EQ(model->weights.lm_head.data, model->weights.embed.data);
    for (size_t l = 0; l < model->weights.layers.size(); ++l) {
      for (auto member : {&LayerWeights::q, &LayerWeights::k, &LayerWeights::v, &LayerWeights::down}) {
        const kernels::Matrix& a = original->weights.layers[l].*member;
        const kernels::Matrix& b = model->weights.layers[l].*member;
        ASSERT_EQ(b.dtype, target);
        std::vector<float> values(static_cast<size_t>(a.rows * a.cols));
        kernels::dequantize_row(a.dtype, a.data, values.data(), a.rows * a.cols);
        for (size_t i = 0; i < values.size(); ++i) {
          if (target == kernels::DType::F32) {
            ASSERT_EQ(static_cast<const float*>(b.data)[i], values[i]) << "layer " << l << " element " << i;
          } else {
            ASSERT_EQ(static_cast<const uint16_t*>(b.data)[i], f32_to_bf16(values[i])) << "layer " << l << " element " << i;
          }
        }
      }
    }
  }
}

TEST(ConvertWeights, NamesAreCheckedAndStoredMeansNoChange) {
  kernels::DType d = kernels::DType::BF16;
  EXPECT_FALSE(weights_dtype_from_name("stored", d));
  EXPECT_EQ(d, kernels::DType::BF16);
  EXPECT_TRUE(weights_dtype_from_name("f32", d));
  EXPECT_EQ(d, kernels::DType::F32);
  EXPECT_THROW(weights_dtype_from_name("int4", d), Error);
}

}  // namespace
}  // namespace kvwb
