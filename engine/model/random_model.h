#pragma once
// A model with random weights of a given shape, held in memory: benchmark shapes without a
// checkpoint (`--random-weights config.json`). Norm weights are 1, matrices uniform in ±scale.
#include <cstdint>
#include <memory>
#include <string>

#include "engine/model/model.h"
#include "kernels/dtype.h"

namespace kvwb {

// Values depend only on (seed, matrix, element index), not on the number of threads that
// fill them, so a model is the same on every machine. No tokenizer (see load_random_model).
std::unique_ptr<Model> make_random_model(const ModelConfig& config, kernels::DType dtype, uint64_t seed = 1);

// The model of an HF config.json's shape with random weights in `weights_dtype` (stored | bf16 |
// f16 | f32; "stored" means bf16, what such checkpoints hold) and a byte tokenizer without end
// tokens, so every request generates its full max_new_tokens. Errors name the file.
std::unique_ptr<Model> load_random_model(const std::string& config_json, const std::string& weights_dtype,
                                         uint64_t seed = 1);

// Bytes of weights one decode step reads (every matrix once; the LM head counts even when tied).
int64_t decode_weight_bytes(const Model& model);

}  // namespace kvwb
