#pragma once
// A GGUF file as a kvwb Model: ModelConfig from `<arch>.*` metadata, weights mapped in their
// stored dtype (quantized ones included), the tokenizer from tokenizer.ggml.*, and the chat
// template from tokenizer.chat_template.
//   Architectures: `llama` (Llama, Mistral and SmolLM2 convert to it) and `qwen2`.
//   RoPE: llama.cpp's converter permutes the Q/K rows of `llama` models so that rotating
//   adjacent pairs is right: those run with RopeStyle::Pair (equivalent to undoing the
//   permutation and rotating halves as HF does); `qwen2` is not permuted and rotates halves.
//   GGUF dims are innermost first: a tensor of dims [in, out] is the HF [out, in] matrix.
#include <string>

#include "engine/model/gguf_file.h"
#include "engine/model/model.h"

namespace kvwb {

// Reads and checks the hyper-parameters; errors name the file and the key.
ModelConfig gguf_model_config(const GgufFile& file);

// Loads the whole model; errors name the file and the key or tensor.
std::unique_ptr<Model> load_gguf_model(const std::string& path);

}  // namespace kvwb
