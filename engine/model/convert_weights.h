#pragma once
// RunConfig's weights_dtype applied to a loaded model: every matrix converted to f32, f16 or
// bf16 in memory (f32 weights make CUDA's GEMMs plain f32, so its greedy tokens can be compared
// with the CPU's; bf16 is what GPU serving runs).
#include <string>

#include "engine/model/model.h"
#include "kernels/dtype.h"

namespace kvwb {

// Converts every weight matrix of `model` to `dtype` (F32, F16 or BF16; round to nearest even).
// Block-quantized matrices (GGUF) are dequantized first, exactly as kernels/quant.h says; matrices
// already in `dtype` are left as they are.
void convert_weights(Model& model, kernels::DType dtype);

// "stored" -> nothing to do (nullopt-like false); "f32" | "f16" | "bf16" -> true and the dtype.
bool weights_dtype_from_name(const std::string& name, kernels::DType& out);

}  // namespace kvwb
