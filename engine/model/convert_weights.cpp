#include "engine/model/convert_weights.h"

#include "engine/core/error.h"
#include "kernels/half.h"
#include "kernels/quant.h"

namespace kvwb {
namespace {

// Quantized matrices are dequantized with the reference (kernels/quant.h), one row at a time,
// then rounded to the target like any f32 value.
void convert(Model& model, kernels::Matrix& m, kernels::DType dtype) {
  if (m.dtype == dtype || m.data == nullptr) return;
  if (m.cols % kernels::dtype_info(m.dtype).block_elems != 0) {
    fail(model.path, "weights_dtype: a {} matrix has rows of {} values, not whole blocks", kernels::dtype_info(m.dtype).name,
         m.cols);
  }
  const int64_t rows = m.rows, cols = m.cols;
  const size_t src_row_bytes = kernels::dtype_bytes(m.dtype, cols);
  const auto* src = static_cast<const uint8_t*>(m.data);
  std::vector<uint8_t> bytes(kernels::dtype_bytes(dtype, rows * cols));
  auto* f32 = reinterpret_cast<float*>(bytes.data());
  auto* u16 = reinterpret_cast<uint16_t*>(bytes.data());
#pragma omp parallel
  {
    std::vector<float> row(dtype == kernels::DType::F32 ? 0 : static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      float* values = dtype == kernels::DType::F32 ? f32 + r * cols : row.data();
      kernels::dequantize_row(m.dtype, src + static_cast<size_t>(r) * src_row_bytes, values, cols);
      if (dtype == kernels::DType::F32) continue;
      for (int64_t c = 0; c < cols; ++c) {
        u16[r * cols + c] = dtype == kernels::DType::BF16 ? f32_to_bf16(values[c]) : f32_to_f16(values[c]);
      }
    }
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
  convert(model, w.embed, dtype);
  if (tied) w.lm_head = w.embed;
  else convert(model, w.lm_head, dtype);
  for (LayerWeights& l : w.layers) {
    convert(model, l.q, dtype);
    convert(model, l.k, dtype);
    convert(model, l.v, dtype);
    convert(model, l.o, dtype);
    convert(model, l.gate, dtype);
    convert(model, l.up, dtype);
    convert(model, l.down, dtype);
  }
}

}  // namespace kvwb
