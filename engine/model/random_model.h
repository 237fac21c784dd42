#pragma once
// A model with random weights of a given shape, held in memory: benchmark shapes without a
// checkpoint (`--random-weights config.json`). Norm weights are 1, matrices uniform in ±scale.
#include <cstdint>
#include <memory>

#include "engine/model/model.h"
#include "kernels/dtype.h"

namespace kvwb {

std::unique_ptr<Model> make_random_model(const ModelConfig& config, kernels::DType dtype, uint64_t seed = 1);

// Bytes of weights one decode step reads (every matrix once; the LM head counts even when tied).
int64_t decode_weight_bytes(const Model& model);

}  // namespace kvwb
