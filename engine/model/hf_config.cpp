// Reads an HF config.json of a Llama-family model into ModelConfig. Defaults follow the
// transformers configuration classes (LlamaConfig, MistralConfig, Qwen2Config, v4.46) where a
// field may be absent; every value is validated so that later code can trust the shapes.
#include <cmath>
#include <string>

#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/model/model_config.h"

namespace kvwb {
namespace {

struct KnownArchitecture {
  const char* class_name;  // architectures[0]
  const char* model_type;
  Architecture architecture;
  int64_t default_max_positions;  // transformers' default when the field is absent
};

constexpr KnownArchitecture kArchitectures[] = {
    {"LlamaForCausalLM", "llama", Architecture::Llama, 2048},
    {"MistralForCausalLM", "mistral", Architecture::Mistral, 4096 * 32},
    {"Qwen2ForCausalLM", "qwen2", Architecture::Qwen2, 32768},
};

const KnownArchitecture& find_architecture(const Json& j, const std::string& where) {
  auto archs = j.find("architectures");
  if (archs != j.end() && !archs->is_null()) {
    if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string())
      fail(where, "field 'architectures' must be a non-empty list of strings");
    const std::string name = (*archs)[0].get<std::string>();
    for (const KnownArchitecture& a : kArchitectures)
      if (name == a.class_name) return a;
    fail(where, "unsupported architecture '{}' (supported: LlamaForCausalLM, MistralForCausalLM, "
                "Qwen2ForCausalLM)", name);
  }
  const std::string type = json_optional<std::string>(j, "model_type", "", where);
  if (type.empty()) fail(where, "missing required field 'architectures' (or 'model_type')");
  for (const KnownArchitecture& a : kArchitectures)
    if (type == a.model_type) return a;
  fail(where, "unsupported model_type '{}' (supported: llama, mistral, qwen2)", type);
}

// An integer field (a float such as 4096.5 is rejected rather than truncated).
int64_t int_field(const Json& j, const char* key, const std::string& where, int64_t min_value) {
  const Json& v = j.at(key);
  if (!v.is_number_integer()) fail(where, "field '{}' must be an integer, got {}", key, v.dump());
  const int64_t x = json_integer<int64_t>(v, key, where);
  if (x < min_value) fail(where, "field '{}' must be at least {}, got {}", key, min_value, x);
  return x;
}

bool present(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && !it->is_null();
}

int64_t required_int(const Json& j, const char* key, const std::string& where, int64_t min_value) {
  if (!present(j, key)) fail(where, "missing required field '{}'", key);
  return int_field(j, key, where, min_value);
}

int64_t optional_int(const Json& j, const char* key, int64_t fallback, const std::string& where,
                     int64_t min_value) {
  return present(j, key) ? int_field(j, key, where, min_value) : fallback;
}

// A strictly positive, finite number.
double positive_number(const Json& j, const char* key, double fallback, const std::string& where) {
  if (!present(j, key)) return fallback;
  const Json& v = j.at(key);
  if (!v.is_number()) fail(where, "field '{}' must be a number, got {}", key, v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x) || x <= 0.0) fail(where, "field '{}' must be a positive number, got {}", key, x);
  return x;
}

int32_t token_id(const Json& v, const char* key, int64_t vocab_size, const std::string& where) {
  if (!v.is_number_integer()) fail(where, "field '{}' must be a token id (integer), got {}", key, v.dump());
  const int64_t id = json_integer<int64_t>(v, key, where);
  if (id < 0 || id >= vocab_size)
    fail(where, "field '{}' = {} is outside the vocabulary [0, {})", key, id, vocab_size);
  return static_cast<int32_t>(id);
}

RopeScaling read_rope_scaling(const Json& j, const std::string& where) {
  RopeScaling r;
  if (!present(j, "rope_scaling")) return r;
  const Json& s = j.at("rope_scaling");
  if (!s.is_object()) fail(where, "field 'rope_scaling' must be null or an object");
  // transformers renamed "type" to "rope_type"; both spellings occur in published files.
  std::string type = json_optional<std::string>(s, "rope_type", "", where + ": rope_scaling");
  if (type.empty()) type = json_optional<std::string>(s, "type", "", where + ": rope_scaling");
  if (type.empty()) fail(where, "field 'rope_scaling' has no 'rope_type' (or 'type')");
  if (type == "default") return r;
  if (type != "llama3")
    fail(where, "rope_scaling type '{}' is not supported (supported: llama3, default)", type);
  const std::string sub = where + ": rope_scaling";
  r.type = "llama3";
  for (const char* key : {"factor", "low_freq_factor", "high_freq_factor"})
    if (!present(s, key)) fail(sub, "missing required field '{}'", key);
  r.factor = static_cast<float>(positive_number(s, "factor", 0.0, sub));
  r.low_freq_factor = static_cast<float>(positive_number(s, "low_freq_factor", 0.0, sub));
  r.high_freq_factor = static_cast<float>(positive_number(s, "high_freq_factor", 0.0, sub));
  r.original_max_position_embeddings = required_int(s, "original_max_position_embeddings", sub, 1);
  // The smooth interpolation divides by (high - low).
  if (r.high_freq_factor <= r.low_freq_factor)
    fail(sub, "high_freq_factor ({}) must be greater than low_freq_factor ({})", r.high_freq_factor,
         r.low_freq_factor);
  return r;
}

void read_eos(const Json& j, ModelConfig& c, const std::string& where) {
  if (!present(j, "eos_token_id")) return;
  const Json& v = j.at("eos_token_id");
  if (v.is_array()) {
    for (const Json& id : v) c.eos_token_ids.push_back(token_id(id, "eos_token_id", c.vocab_size, where));
  } else {
    c.eos_token_ids.push_back(token_id(v, "eos_token_id", c.vocab_size, where));
  }
}

bool bool_field(const Json& j, const char* key, bool fallback, const std::string& where) {
  return json_optional<bool>(j, key, fallback, where);
}

}  // namespace

ModelConfig load_hf_config(const std::string& path) {
  const Json j = read_json_file(path);
  if (!j.is_object()) fail(path, "expected a JSON object at the top level");
  const KnownArchitecture& arch = find_architecture(j, path);

  ModelConfig c;
  c.architecture = arch.architecture;
  c.architecture_name = present(j, "architectures") ? j["architectures"][0].get<std::string>() : arch.class_name;
  c.vocab_size = required_int(j, "vocab_size", path, 1);
  c.hidden_size = required_int(j, "hidden_size", path, 1);
  c.intermediate_size = required_int(j, "intermediate_size", path, 1);
  c.num_layers = required_int(j, "num_hidden_layers", path, 1);
  c.num_heads = required_int(j, "num_attention_heads", path, 1);
  c.num_kv_heads = optional_int(j, "num_key_value_heads", c.num_heads, path, 1);
  if (c.num_heads % c.num_kv_heads != 0)
    fail(path, "num_attention_heads ({}) must be divisible by num_key_value_heads ({})", c.num_heads,
         c.num_kv_heads);
  if (present(j, "head_dim")) {
    c.head_dim = int_field(j, "head_dim", path, 1);
  } else {
    if (c.hidden_size % c.num_heads != 0)
      fail(path, "hidden_size ({}) must be divisible by num_attention_heads ({}) when head_dim is absent",
           c.hidden_size, c.num_heads);
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.head_dim % 2 != 0) fail(path, "head_dim ({}) must be even for RoPE", c.head_dim);
  c.max_position_embeddings = optional_int(j, "max_position_embeddings", arch.default_max_positions, path, 1);
  c.rms_norm_eps = static_cast<float>(positive_number(j, "rms_norm_eps", 1e-6, path));
  c.rope_theta = static_cast<float>(positive_number(j, "rope_theta", 10000.0, path));
  c.rope_scaling = read_rope_scaling(j, path);
  c.tie_word_embeddings = bool_field(j, "tie_word_embeddings", false, path);

  const std::string act = json_optional<std::string>(j, "hidden_act", "silu", path);
  if (act != "silu") fail(path, "field 'hidden_act' is '{}'; only silu (SwiGLU) is supported", act);
  if (bool_field(j, "mlp_bias", false, path)) fail(path, "field 'mlp_bias' is true; MLP biases are not supported");

  switch (c.architecture) {
    case Architecture::Qwen2:  // q/k/v always have a bias, o_proj never
      c.attention_bias = true;
      if (bool_field(j, "use_sliding_window", false, path))
        c.sliding_window = optional_int(j, "sliding_window", 0, path, 1);
      break;
    case Architecture::Llama:  // attention_bias puts a bias on all four projections
      c.attention_bias = bool_field(j, "attention_bias", false, path);
      c.o_proj_bias = c.attention_bias;
      break;
    case Architecture::Mistral:
      c.sliding_window = optional_int(j, "sliding_window", 0, path, 1);
      break;
  }

  if (present(j, "bos_token_id")) c.bos_token_id = token_id(j.at("bos_token_id"), "bos_token_id", c.vocab_size, path);
  read_eos(j, c, path);
  return c;
}

}  // namespace kvwb
