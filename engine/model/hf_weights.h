#pragma once
// The weights of an HF Llama-family checkpoint (safetensors) mapped into ModelWeights.
#include <string>

#include "engine/model/model.h"
#include "engine/model/model_config.h"

namespace kvwb {

// Reads model_dir's safetensors (single file or sharded). Every tensor's shape is checked
// against `config` (which came from config_path, named in shape errors); matrices stay in
// their stored dtype and point into the mapped files, norms and biases are widened to f32.
ModelWeights load_hf_weights(const std::string& model_dir, const ModelConfig& config,
                             const std::string& config_path);

}  // namespace kvwb
