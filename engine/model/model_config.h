#pragma once
// The hyper-parameters of a Llama-family model (Llama, Mistral, Qwen2, SmolLM2, the demo
// model), read from an HF config.json (or, later, GGUF metadata).
#include <cstdint>
#include <string>
#include <vector>

namespace kvwb {

enum class Architecture : uint8_t { Llama, Mistral, Qwen2 };

struct RopeScaling {
  std::string type = "none";  // "none" or "llama3"
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Architecture architecture = Architecture::Llama;
  std::string architecture_name;  // as written in the file, e.g. "LlamaForCausalLM"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_heads unless config.json says otherwise
  int64_t max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (Qwen2; Llama's attention_bias)
  bool o_proj_bias = false;     // o_proj carries a bias too (Llama with attention_bias; not Qwen2)
  int64_t sliding_window = 0;   // attention window in tokens; 0 = full attention
  int32_t bos_token_id = -1;    // -1 = none
  std::vector<int32_t> eos_token_ids;
};

// Reads and validates config.json; errors name the file and the field.
ModelConfig load_hf_config(const std::string& config_json_path);

// RoPE inverse frequencies [head_dim / 2], with llama3 scaling applied when configured.
std::vector<float> rope_inv_freq(const ModelConfig& config);

}  // namespace kvwb
