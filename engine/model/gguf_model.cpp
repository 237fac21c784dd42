// GGUF metadata and tensors -> Model (config, weights in their stored dtype, tokenizer).
#include "engine/model/gguf_model.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/model/read_weights.h"
#include "engine/model/safetensors.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "kernels/quant.h"

namespace kvwb {
namespace {

struct ArchInfo {
  std::string_view name;
  Architecture architecture;
  kernels::RopeStyle rope;
};

constexpr ArchInfo kArchitectures[] = {
    {"llama", Architecture::Llama, kernels::RopeStyle::Pair},
    {"qwen2", Architecture::Qwen2, kernels::RopeStyle::Half},
};

const ArchInfo& arch_info(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture");
  for (const ArchInfo& a : kArchitectures)
    if (a.name == arch) return a;
  fail(f.path(), "general.architecture '{}' is not supported (kvwb runs the Llama family: llama, qwen2)", arch);
}

int64_t positive(const GgufFile& f, const std::string& key) {
  const int64_t v = f.get_int(key);
  if (v <= 0) fail(f.path(), "metadata '{}' is {}, expected a positive integer", key, v);
  return v;
}

class TensorReader {
 public:
  TensorReader(const GgufFile& file, ModelWeights& weights) : file_(file), weights_(weights) {}

  // A weight matrix [rows = out, cols = in], stored as GGUF dims [in, out].
  kernels::Matrix matrix(const std::string& name, int64_t rows, int64_t cols) {
    const GgufTensorInfo& t = checked(name, {cols, rows});
    const uint8_t* data = t.data;
    // Plain types are read through typed pointers: copy a tensor that the file's alignment
    // left misaligned (block types are read bytewise and need no alignment).
    const size_t elem = kernels::dtype_info(t.dtype).block_bytes;
    if (!kernels::is_quantized(t.dtype) && reinterpret_cast<uintptr_t>(data) % elem != 0) {
      weights_.realigned.emplace_back(data, data + t.nbytes);
      data = weights_.realigned.back().data();
    }
    return {t.dtype, rows, cols, data};
  }

  // A vector [n] widened to f32 (norm weights, biases).
  std::vector<float> vector(const std::string& name, int64_t n) {
    const GgufTensorInfo& t = checked(name, {n});
    std::vector<float> out(static_cast<size_t>(n));
    kernels::dequantize_row(t.dtype, t.data, out.data(), n);
    return out;
  }

  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

 private:
  const GgufTensorInfo& checked(const std::string& name, const std::vector<int64_t>& dims) {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (t == nullptr) fail(file_.path(), "missing tensor '{}'", name);
    if (t->dims != dims)
      fail(file_.path(), "tensor '{}' has dims {}, expected {} (innermost first) from the model's metadata", name,
           format_shape(t->dims), format_shape(dims));
    if (!gguf_kernel_dtype(t->ggml_type))
      fail(file_.path(), "tensor '{}' has type {} ({}), which kvwb cannot run yet (supported: F32, F16, BF16, Q8_0, "
           "Q4_0, Q4_1, Q4_K, Q6_K)", name, ggml_type_name(t->ggml_type), t->ggml_type);
    return *t;
  }

  const GgufFile& file_;
  ModelWeights& weights_;
};

// llama.cpp's tensor names.
std::string gguf_layer_tensor(int64_t layer, LayerTensor t) {
  const char* suffix = "";
  switch (t) {
    case LayerTensor::q: suffix = "attn_q.weight"; break;
    case LayerTensor::k: suffix = "attn_k.weight"; break;
    case LayerTensor::v: suffix = "attn_v.weight"; break;
    case LayerTensor::o: suffix = "attn_output.weight"; break;
    case LayerTensor::q_bias: suffix = "attn_q.bias"; break;
    case LayerTensor::k_bias: suffix = "attn_k.bias"; break;
    case LayerTensor::v_bias: suffix = "attn_v.bias"; break;
    case LayerTensor::o_bias: suffix = "attn_output.bias"; break;
    case LayerTensor::gate: suffix = "ffn_gate.weight"; break;
    case LayerTensor::up: suffix = "ffn_up.weight"; break;
    case LayerTensor::down: suffix = "ffn_down.weight"; break;
    case LayerTensor::attn_norm: suffix = "attn_norm.weight"; break;
    case LayerTensor::ffn_norm: suffix = "ffn_norm.weight"; break;
  }
  return fmt::format("blk.{}.{}", layer, suffix);
}

ModelWeights gguf_weights(const GgufFile& f, const ModelConfig& c) {
  ModelWeights w;
  TensorReader r(f, w);
  read_weights(r, c, {"token_embd.weight", "output.weight", "output_norm.weight", gguf_layer_tensor}, w);
  return w;
}

int32_t optional_id(const GgufFile& f, const std::string& key) {
  const int64_t id = f.get_int(key, -1);
  if (id < -1 || id > INT32_MAX) fail(f.path(), "metadata '{}' is {}, not a token id", key, id);
  return static_cast<int32_t>(id);
}

std::unique_ptr<Tokenizer> gguf_tokenizer(const GgufFile& f) {
  GgufVocab v;
  v.model = f.get_string("tokenizer.ggml.model");
  v.pre = f.get_string("tokenizer.ggml.pre", "");
  if (v.model == "gpt2") {  // other models fail in make_gguf_tokenizer with a clear message
    v.tokens = f.get_string_array("tokenizer.ggml.tokens");
    v.merges = f.get_string_array("tokenizer.ggml.merges");
    if (f.find("tokenizer.ggml.token_type") != nullptr) {
      for (int64_t t : f.get_int_array("tokenizer.ggml.token_type")) v.token_types.push_back(static_cast<int32_t>(t));
    }
  }
  v.bos_id = optional_id(f, "tokenizer.ggml.bos_token_id");
  v.eos_id = optional_id(f, "tokenizer.ggml.eos_token_id");
  v.eot_id = optional_id(f, "tokenizer.ggml.eot_token_id");
  v.eom_id = optional_id(f, "tokenizer.ggml.eom_token_id");
  if (f.find("tokenizer.ggml.add_bos_token") != nullptr) v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", false);
  return make_gguf_tokenizer(v, f.path());
}

}  // namespace

ModelConfig gguf_model_config(const GgufFile& f) {
  const ArchInfo& arch = arch_info(f);
  const std::string p = std::string(arch.name) + ".";
  ModelConfig c;
  c.architecture = arch.architecture;
  c.architecture_name = std::string(arch.name);
  c.hidden_size = positive(f, p + "embedding_length");
  c.intermediate_size = positive(f, p + "feed_forward_length");
  c.num_layers = positive(f, p + "block_count");
  c.num_heads = positive(f, p + "attention.head_count");
  c.num_kv_heads = f.find(p + "attention.head_count_kv") != nullptr ? positive(f, p + "attention.head_count_kv")
                                                                     : c.num_heads;
  if (c.num_heads % c.num_kv_heads != 0)
    fail(f.path(), "metadata '{}attention.head_count' {} is not a multiple of head_count_kv {}", p, c.num_heads,
         c.num_kv_heads);
  c.head_dim = f.find(p + "attention.key_length") != nullptr ? positive(f, p + "attention.key_length")
                                                             : c.hidden_size / c.num_heads;
  if (f.find(p + "attention.key_length") == nullptr && c.hidden_size % c.num_heads != 0)
    fail(f.path(), "metadata '{}embedding_length' {} is not a multiple of head_count {}", p, c.hidden_size, c.num_heads);
  if (f.get_int(p + "attention.value_length", c.head_dim) != c.head_dim)
    fail(f.path(), "metadata '{}attention.value_length' differs from key_length; kvwb needs equal K and V sizes", p);
  if (c.head_dim % 2 != 0) fail(f.path(), "head dimension {} is odd; RoPE needs an even one", c.head_dim);
  if (f.get_int(p + "rope.dimension_count", c.head_dim) != c.head_dim)
    fail(f.path(), "metadata '{}rope.dimension_count' is {} but heads have {} dimensions; partial RoPE is not supported",
         p, f.get_int(p + "rope.dimension_count"), c.head_dim);
  c.max_position_embeddings = positive(f, p + "context_length");
  c.rms_norm_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon"));
  if (!(c.rms_norm_eps > 0.0f)) fail(f.path(), "metadata '{}attention.layer_norm_rms_epsilon' must be positive", p);
  c.rope_theta = static_cast<float>(f.get_float(p + "rope.freq_base", 10000.0));
  if (!(c.rope_theta > 0.0f)) fail(f.path(), "metadata '{}rope.freq_base' must be positive", p);

  // RoPE scaling: GGUF spells it as rope.scaling.type/factor, and Llama-3.1's frequency
  // factors as a rope_freqs tensor. kvwb's RoPE has no linear or YaRN scaling yet.
  const std::string scaling = f.get_string(p + "rope.scaling.type", "none");
  const double factor = f.get_float(p + "rope.scaling.factor", 1.0);
  if (scaling != "none" && !(scaling == "linear" && factor == 1.0))
    fail(f.path(), "metadata '{}rope.scaling.type' is '{}' (factor {}); kvwb supports no RoPE scaling in GGUF yet", p,
         scaling, factor);
  if (f.find_tensor("rope_freqs.weight") != nullptr)
    fail(f.path(), "tensor 'rope_freqs.weight' (Llama-3.1 RoPE frequency factors) is not supported yet");

  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  if (embd == nullptr) fail(f.path(), "missing tensor 'token_embd.weight'");
  if (embd->dims.size() != 2) fail(f.path(), "tensor 'token_embd.weight' has dims {}, expected [hidden, vocab]", format_shape(embd->dims));
  c.vocab_size = embd->dims[1];
  if (f.find(p + "vocab_size") != nullptr && f.get_int(p + "vocab_size") != c.vocab_size)
    fail(f.path(), "metadata '{}vocab_size' is {} but 'token_embd.weight' has {} rows", p, f.get_int(p + "vocab_size"),
         c.vocab_size);
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  c.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.o_proj_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  return c;
}

std::unique_ptr<Model> load_gguf_model(const std::string& path) {
  GgufFile file(path);
  auto model = std::make_unique<Model>();
  model->path = path;
  model->config = gguf_model_config(file);
  // The tokenizer before the weights: its errors are the cheaper ones to report.
  model->tokenizer = gguf_tokenizer(file);
  if (model->tokenizer->vocab_size() > model->config.vocab_size)
    fail(path, "the tokenizer has {} tokens but 'token_embd.weight' has only {} rows", model->tokenizer->vocab_size(),
         model->config.vocab_size);
  model->config.bos_token_id = model->tokenizer->bos_id();
  model->config.eos_token_ids = model->tokenizer->eos_ids();
  model->chat_template = file.get_string("tokenizer.chat_template", "");
  model->weights = gguf_weights(file, model->config);
  model->weights.rope_style = arch_info(file).rope;
  model->weights.files.push_back(std::move(file).take_mapping());
  return model;
}

}  // namespace kvwb
