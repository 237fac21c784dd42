#include "engine/model/convert_weights.h"

#include "engine/core/error.h"
#include "kernels/half.h"

namespace kvwb {
namespace {

float element(const kernels::Matrix& m, int64_t i) {
  switch (m.dtype) {
    case kernels::DType::F32: return static_cast<const float*>(m.data)[i];
    case kernels::DType::F16: return f16_to_f32(static_cast<const uint16_t*>(m.data)[i]);
    case kernels::DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(m.data)[i]);
    default: return 0.0f;  // rejected before
  }
}

void convert(Model& model, kernels::Matrix& m, kernels::DType dtype, const char* name) {
  if (m.dtype == dtype || m.data == nullptr) return;
  if (m.dtype != kernels::DType::F32 && m.dtype != kernels::DType::F16 && m.dtype != kernels::DType::BF16) {
    fail(model.path, "weights_dtype: {} is stored as {}, which cannot be converted (only f32, f16 and bf16 can)", name,
         kernels::dtype_info(m.dtype).name);
  }
  const int64_t n = m.rows * m.cols;
  std::vector<uint8_t> bytes(kernels::dtype_bytes(dtype, n));
  auto* f32 = reinterpret_cast<float*>(bytes.data());
  auto* u16 = reinterpret_cast<uint16_t*>(bytes.data());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = element(m, i);
    if (dtype == kernels::DType::F32) f32[i] = v;
    else u16[i] = dtype == kernels::DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  model.weights.realigned.push_back(std::move(bytes));
  m.dtype = dtype;
  m.data = model.weights.realigned.back().data();
}

}  // namespace

bool weights_dtype_from_name(const std::string& name, kernels::DType& out) {
  if (name == "stored") return false;
  if (name == "f32") out = kernels::DType::F32;
  else if (name == "f16") out = kernels::DType::F16;
  else if (name == "bf16") out = kernels::DType::BF16;
  else fail("weights_dtype", "must be stored, f32, f16 or bf16, got '{}'", name);
  return true;
}

void convert_weights(Model& model, kernels::DType dtype) {
  if (dtype != kernels::DType::F32 && dtype != kernels::DType::F16 && dtype != kernels::DType::BF16) {
    fail(model.path, "weights_dtype: can convert to f32, f16 or bf16 only, not {}", kernels::dtype_info(dtype).name);
  }
  ModelWeights& w = model.weights;
  const bool tied = w.lm_head.data == w.embed.data;
  convert(model, w.embed, dtype, "embed_tokens");
  if (tied) w.lm_head = w.embed;
  else convert(model, w.lm_head, dtype, "lm_head");
  for (LayerWeights& l : w.layers) {
    convert(model, l.q, dtype, "q_proj");
    convert(model, l.k, dtype, "k_proj");
    convert(model, l.v, dtype, "v_proj");
    convert(model, l.o, dtype, "o_proj");
    convert(model, l.gate, dtype, "gate_proj");
    convert(model, l.up, dtype, "up_proj");
    convert(model, l.down, dtype, "down_proj");
  }
}

}  // namespace kvwb
