#pragma once
// A loaded model: config, weights in their stored dtype (memory-mapped), and its tokenizer.
#include <memory>
#include <string>
#include <vector>

#include "engine/core/mapped_file.h"
#include "engine/model/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "kernels/backend.h"

namespace kvwb {

struct LayerWeights {
  kernels::Matrix q, k, v, o;        // [heads*head_dim, hidden], [kv*hd, hidden] x2, [hidden, heads*hd]
  kernels::Matrix gate, up, down;    // [inter, hidden] x2, [hidden, inter]
  std::vector<float> attn_norm;      // [hidden]
  std::vector<float> ffn_norm;       // [hidden]
  std::vector<float> q_bias, k_bias, v_bias;  // empty unless config.attention_bias
  std::vector<float> o_bias;                  // empty unless config.o_proj_bias
};

struct ModelWeights {
  kernels::Matrix embed;    // [vocab, hidden]
  kernels::Matrix lm_head;  // [vocab, hidden]; the same bytes as embed when tied
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  kernels::RopeStyle rope_style = kernels::RopeStyle::Half;
  std::vector<MappedFile> files;  // keeps the mapped bytes alive
  // Copies of tensors whose bytes were not aligned to their element size in the file (a
  // header length that is not a multiple of 8); matrices point into these instead.
  std::vector<std::vector<uint8_t>> realigned;
};

struct Model {
  std::string path;
  ModelConfig config;
  ModelWeights weights;
  std::unique_ptr<Tokenizer> tokenizer;
  // The Jinja source of the model's chat template (GGUF tokenizer.chat_template, HF
  // tokenizer_config.json chat_template); empty when it has none. See chat_template.h.
  std::string chat_template;
};

// Loads an HF directory (config.json, *.safetensors [+ index], tokenizer.json) or a GGUF file
// (a path ending in .gguf or a file that starts with the GGUF magic). Errors name the file,
// the tensor or field, and the problem.
std::unique_ptr<Model> load_model(const std::string& path);

}  // namespace kvwb
