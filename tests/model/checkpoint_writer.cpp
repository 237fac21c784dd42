#include "tests/model/checkpoint_writer.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "kernels/half.h"

namespace kvwb::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "kvwb-model-test-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<uint8_t> encode(const std::string& dtype, const std::vector<float>& values) {
  std::vector<uint8_t> out;
  auto put = [&out](uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  for (float f : values) {
    if (dtype == "F32") {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      put(bits, 4);
    } else if (dtype == "F16") {
      put(f32_to_f16(f), 2);
    } else if (dtype == "BF16") {
      put(f32_to_bf16(f), 2);
    } else {
      throw std::invalid_argument("encode: unsupported dtype " + dtype);
    }
  }
  return out;
}

std::vector<float> pattern(int64_t count, int seed) {
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = static_cast<float>((i * 7 + seed * 13) % 17 - 8) / 8.0f;
  return v;
}

ordered_json safetensors_header(const std::vector<TensorBytes>& tensors) {
  ordered_json h = ordered_json::object();
  size_t offset = 0;
  for (const TensorBytes& t : tensors) {
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  return h;
}

std::string safetensors_data(const std::vector<TensorBytes>& tensors) {
  std::string data;
  for (const TensorBytes& t : tensors) data.append(t.bytes.begin(), t.bytes.end());
  return data;
}

std::string safetensors_file(const std::string& header_text, const std::string& data, bool pad) {
  std::string header = header_text;
  if (pad)
    while (header.size() % 8 != 0) header += ' ';
  std::string out;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string safetensors_file(const std::vector<TensorBytes>& tensors) {
  return safetensors_file(safetensors_header(tensors).dump(), safetensors_data(tensors));
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

ordered_json tiny_config(const std::string& architecture) {
  return {{"architectures", {architecture}},
          {"hidden_size", 8},
          {"intermediate_size", 12},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"max_position_embeddings", 64},
          {"vocab_size", 16},
          {"bos_token_id", 1},
          {"eos_token_id", 2},
          {"tie_word_embeddings", false}};
}

std::vector<TensorBytes> tiny_model_tensors(const ordered_json& c, const std::string& dtype, bool include_lm_head) {
  const int64_t hidden = c["hidden_size"], inter = c["intermediate_size"], heads = c["num_attention_heads"];
  const int64_t kv = c.value("num_key_value_heads", heads), vocab = c["vocab_size"];
  const int64_t hd = c.value("head_dim", hidden / heads);
  const bool qwen2 = c["architectures"][0] == "Qwen2ForCausalLM";
  const bool qkv_bias = qwen2 || c.value("attention_bias", false);
  const bool o_bias = !qwen2 && c.value("attention_bias", false);
  std::vector<TensorBytes> out;
  int seed = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    out.push_back({name, dtype, shape, encode(dtype, pattern(n, seed++))});
  };
  add("model.embed_tokens.weight", {vocab, hidden});
  if (!c.value("tie_word_embeddings", false) || include_lm_head) add("lm_head.weight", {vocab, hidden});
  add("model.norm.weight", {hidden});
  for (int64_t i = 0; i < c["num_hidden_layers"].get<int64_t>(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "self_attn.q_proj.weight", {heads * hd, hidden});
    add(p + "self_attn.k_proj.weight", {kv * hd, hidden});
    add(p + "self_attn.v_proj.weight", {kv * hd, hidden});
    add(p + "self_attn.o_proj.weight", {hidden, heads * hd});
    if (qkv_bias) {
      add(p + "self_attn.q_proj.bias", {heads * hd});
      add(p + "self_attn.k_proj.bias", {kv * hd});
      add(p + "self_attn.v_proj.bias", {kv * hd});
    }
    if (o_bias) add(p + "self_attn.o_proj.bias", {hidden});
    add(p + "mlp.gate_proj.weight", {inter, hidden});
    add(p + "mlp.up_proj.weight", {inter, hidden});
    add(p + "mlp.down_proj.weight", {hidden, inter});
    add(p + "input_layernorm.weight", {hidden});
    add(p + "post_attention_layernorm.weight", {hidden});
  }
  return out;
}

void write_model(const std::string& dir, const ordered_json& config, const std::vector<TensorBytes>& tensors) {
  write_file(dir + "/config.json", config.dump(2));
  write_file(dir + "/model.safetensors", safetensors_file(tensors));
}

}  // namespace kvwb::test
