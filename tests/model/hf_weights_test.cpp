// HF safetensors -> ModelWeights: shapes, dtypes, bytes read back as written, tied and sharded
// checkpoints, and an Error naming the file and tensor for every mismatch.
#include "engine/model/hf_weights.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "engine/core/error.h"
#include "tests/model/checkpoint_writer.h"

namespace kvwb {
namespace {

using test::ordered_json;
using test::TensorBytes;

class HfWeights : public ::testing::Test {
 protected:
  ModelWeights load(const ordered_json& config, const std::vector<TensorBytes>& tensors) {
    test::write_model(dir_.path(), config, tensors);
    written_.clear();
    for (const TensorBytes& t : tensors) written_[t.name] = t;
    return load_hf_weights(dir_.path(), load_hf_config(config_path()), config_path());
  }
  std::string error_of(const ordered_json& config, const std::vector<TensorBytes>& tensors) {
    try {
      load(config, tensors);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  // The matrix has the written dtype and shape and its bytes are the written bytes, in place.
  void expect_matrix(const ModelWeights& w, const kernels::Matrix& m, const std::string& name) {
    SCOPED_TRACE(name);
    const TensorBytes& t = written_.at(name);
    ASSERT_EQ(t.shape.size(), 2u);
    EXPECT_EQ(m.rows, t.shape[0]);
    EXPECT_EQ(m.cols, t.shape[1]);
    EXPECT_EQ(kernels::dtype_info(m.dtype).name, t.dtype == "F32" ? "f32" : t.dtype == "F16" ? "f16" : "bf16");
    ASSERT_NE(m.data, nullptr);
    EXPECT_EQ(std::memcmp(m.data, t.bytes.data(), t.bytes.size()), 0);
    if (w.realigned.empty()) {  // zero-copy: the matrix points into a mapped file
      const auto* p = static_cast<const uint8_t*>(m.data);
      bool inside = false;
      for (const MappedFile& f : w.files) inside |= p >= f.data() && p + t.bytes.size() <= f.data() + f.size();
      EXPECT_TRUE(inside);
    }
  }
  // The vector holds the values the test wrote (pattern values are exact in every dtype).
  void expect_vector(const std::vector<float>& v, const std::string& name, int seed) {
    SCOPED_TRACE(name);
    const TensorBytes& t = written_.at(name);
    EXPECT_EQ(v, test::pattern(t.shape[0], seed));
  }
  int seed_of(const std::string& name) const {  // tiny_model_tensors seeds tensors in order
    const auto all = test::tiny_model_tensors(config_, dtype_, include_lm_head_);
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].name == name) return static_cast<int>(i);
    return -1;
  }
  std::string config_path() const { return dir_.file("config.json"); }
  std::string model_file() const { return dir_.file("model.safetensors"); }

  test::TempDir dir_;
  std::map<std::string, TensorBytes> written_;
  ordered_json config_ = test::tiny_config();
  std::string dtype_ = "BF16";
  bool include_lm_head_ = false;
};

class HfWeightsDtype : public HfWeights, public ::testing::WithParamInterface<const char*> {};

TEST_P(HfWeightsDtype, TinyModelReadsBackAsWritten) {
  dtype_ = GetParam();
  const ModelWeights w = load(config_, test::tiny_model_tensors(config_, dtype_));
  expect_matrix(w, w.embed, "model.embed_tokens.weight");
  expect_matrix(w, w.lm_head, "lm_head.weight");
  EXPECT_NE(w.lm_head.data, w.embed.data);
  expect_vector(w.final_norm, "model.norm.weight", seed_of("model.norm.weight"));
  ASSERT_EQ(w.layers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const LayerWeights& l = w.layers[i];
    expect_matrix(w, l.q, p + "self_attn.q_proj.weight");
    expect_matrix(w, l.k, p + "self_attn.k_proj.weight");
    expect_matrix(w, l.v, p + "self_attn.v_proj.weight");
    expect_matrix(w, l.o, p + "self_attn.o_proj.weight");
    expect_matrix(w, l.gate, p + "mlp.gate_proj.weight");
    expect_matrix(w, l.up, p + "mlp.up_proj.weight");
    expect_matrix(w, l.down, p + "mlp.down_proj.weight");
    expect_vector(l.attn_norm, p + "input_layernorm.weight", seed_of(p + "input_layernorm.weight"));
    expect_vector(l.ffn_norm, p + "post_attention_layernorm.weight", seed_of(p + "post_attention_layernorm.weight"));
    EXPECT_TRUE(l.q_bias.empty() && l.k_bias.empty() && l.v_bias.empty() && l.o_bias.empty());
  }
  // Shapes of a 4-head, 2-KV-head, head_dim 2 model (hand-derived from tiny_config).
  EXPECT_EQ(w.layers[0].q.rows, 8);
  EXPECT_EQ(w.layers[0].k.rows, 4);
  EXPECT_EQ(w.layers[0].down.cols, 12);
  EXPECT_EQ(w.rope_style, kernels::RopeStyle::Half);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, HfWeightsDtype, ::testing::Values("F32", "F16", "BF16"));

TEST_F(HfWeights, MappingOutlivesTheLoaderAndMoves) {
  ModelWeights moved = load(config_, test::tiny_model_tensors(config_, dtype_));
  const ModelWeights w = std::move(moved);
  expect_matrix(w, w.layers[1].down, "model.layers.1.mlp.down_proj.weight");
}

TEST_F(HfWeights, TiedEmbeddingsShareTheBytes) {
  config_["tie_word_embeddings"] = true;
  const ModelWeights w = load(config_, test::tiny_model_tensors(config_, dtype_));
  EXPECT_EQ(written_.count("lm_head.weight"), 0u);
  EXPECT_EQ(w.lm_head.data, w.embed.data);
  EXPECT_EQ(w.lm_head.rows, 16);
  // A tied checkpoint that stores lm_head.weight anyway: transformers uses the embedding.
  include_lm_head_ = true;
  const ModelWeights w2 = load(config_, test::tiny_model_tensors(config_, dtype_, true));
  EXPECT_EQ(w2.lm_head.data, w2.embed.data);
  expect_matrix(w2, w2.embed, "model.embed_tokens.weight");
}

TEST_F(HfWeights, Qwen2BiasesAreWidenedToF32) {
  config_ = test::tiny_config("Qwen2ForCausalLM");
  const ModelWeights w = load(config_, test::tiny_model_tensors(config_, dtype_));
  const std::string p = "model.layers.1.self_attn.";
  expect_vector(w.layers[1].q_bias, p + "q_proj.bias", seed_of(p + "q_proj.bias"));
  expect_vector(w.layers[1].k_bias, p + "k_proj.bias", seed_of(p + "k_proj.bias"));
  expect_vector(w.layers[1].v_bias, p + "v_proj.bias", seed_of(p + "v_proj.bias"));
  EXPECT_EQ(w.layers[1].q_bias.size(), 8u);
  EXPECT_EQ(w.layers[1].k_bias.size(), 4u);
  EXPECT_TRUE(w.layers[1].o_bias.empty());
}

TEST_F(HfWeights, LlamaAttentionBiasIncludesOProj) {
  config_["attention_bias"] = true;
  const ModelWeights w = load(config_, test::tiny_model_tensors(config_, dtype_));
  const std::string name = "model.layers.0.self_attn.o_proj.bias";
  expect_vector(w.layers[0].o_bias, name, seed_of(name));
  EXPECT_EQ(w.layers[0].v_bias.size(), 4u);
}

TEST_F(HfWeights, MixedDtypesAreKeptPerTensor) {
  std::vector<TensorBytes> t = test::tiny_model_tensors(config_, "BF16");
  for (TensorBytes& x : t)
    if (x.name == "model.norm.weight" || x.name == "model.layers.0.mlp.up_proj.weight") {
      x.dtype = "F32";
      x.bytes = test::encode("F32", test::pattern(x.shape[0] * (x.shape.size() > 1 ? x.shape[1] : 1), seed_of(x.name)));
    }
  const ModelWeights w = load(config_, t);
  EXPECT_EQ(w.layers[0].up.dtype, kernels::DType::F32);
  EXPECT_EQ(w.layers[0].gate.dtype, kernels::DType::BF16);
  expect_matrix(w, w.layers[0].up, "model.layers.0.mlp.up_proj.weight");
  expect_vector(w.final_norm, "model.norm.weight", seed_of("model.norm.weight"));
}

TEST_F(HfWeights, ShardedCheckpointLoads) {
  const std::vector<TensorBytes> t = test::tiny_model_tensors(config_, dtype_);
  std::vector<TensorBytes> first(t.begin(), t.begin() + 7), second(t.begin() + 7, t.end());
  ordered_json map;
  for (const TensorBytes& x : first) map[x.name] = "model-00001-of-00002.safetensors";
  for (const TensorBytes& x : second) map[x.name] = "model-00002-of-00002.safetensors";
  test::write_file(config_path(), config_.dump());
  test::write_file(dir_.file("model-00001-of-00002.safetensors"), test::safetensors_file(first));
  test::write_file(dir_.file("model-00002-of-00002.safetensors"), test::safetensors_file(second));
  test::write_file(dir_.file("model.safetensors.index.json"), ordered_json{{"weight_map", map}}.dump());
  for (const TensorBytes& x : t) written_[x.name] = x;
  const ModelWeights w = load_hf_weights(dir_.path(), load_hf_config(config_path()), config_path());
  EXPECT_EQ(w.files.size(), 2u);
  expect_matrix(w, w.embed, "model.embed_tokens.weight");
  expect_matrix(w, w.layers[1].down, "model.layers.1.mlp.down_proj.weight");
}

TEST_F(HfWeights, MisalignedTensorsAreCopiedNotReadUnaligned) {
  const std::vector<TensorBytes> t = test::tiny_model_tensors(config_, "F32");
  std::string header = test::safetensors_header(t).dump();
  if (header.size() % 4 == 0) header += ' ';
  test::write_file(config_path(), config_.dump());
  test::write_file(model_file(), test::safetensors_file(header, test::safetensors_data(t), /*pad=*/false));
  for (const TensorBytes& x : t) written_[x.name] = x;
  const ModelWeights w = load_hf_weights(dir_.path(), load_hf_config(config_path()), config_path());
  EXPECT_FALSE(w.realigned.empty());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.embed.data) % 4, 0u);
  expect_matrix(w, w.embed, "model.embed_tokens.weight");
  expect_matrix(w, w.layers[1].o, "model.layers.1.self_attn.o_proj.weight");
}

// --- errors ----------------------------------------------------------------------------------

std::vector<TensorBytes> without(std::vector<TensorBytes> t, const std::string& name) {
  std::erase_if(t, [&](const TensorBytes& x) { return x.name == name; });
  return t;
}

TEST_F(HfWeights, MissingTensorIsNamed) {
  const auto all = test::tiny_model_tensors(config_, dtype_);
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
                           "model.layers.1.self_attn.k_proj.weight", "model.layers.0.mlp.down_proj.weight",
                           "model.layers.1.post_attention_layernorm.weight"})
    EXPECT_EQ(error_of(config_, without(all, name)), model_file() + ": missing tensor '" + name + "'");
  const ordered_json qwen = test::tiny_config("Qwen2ForCausalLM");
  EXPECT_EQ(error_of(qwen, without(test::tiny_model_tensors(qwen, dtype_), "model.layers.0.self_attn.v_proj.bias")),
            model_file() + ": missing tensor 'model.layers.0.self_attn.v_proj.bias'");
}

TEST_F(HfWeights, ShapeDisagreeingWithConfigNamesBoth) {
  std::vector<TensorBytes> t = test::tiny_model_tensors(config_, dtype_);
  for (TensorBytes& x : t)
    if (x.name == "model.layers.1.self_attn.k_proj.weight") x.shape = {8, 4};  // same bytes, transposed
  EXPECT_EQ(error_of(config_, t), model_file() + ": tensor 'model.layers.1.self_attn.k_proj.weight' has shape [8, 4], "
                                                 "expected [4, 8] from " + config_path());
  // The config says more layers than the file has: a shape-consistent file, a missing tensor.
  ordered_json more = config_;
  more["num_hidden_layers"] = 3;
  EXPECT_EQ(error_of(more, test::tiny_model_tensors(config_, dtype_)),
            model_file() + ": missing tensor 'model.layers.2.self_attn.q_proj.weight'");
  // A vocab mismatch shows on the embedding.
  ordered_json vocab = config_;
  vocab["vocab_size"] = 32;
  EXPECT_NE(error_of(vocab, test::tiny_model_tensors(config_, dtype_))
                .find("tensor 'model.embed_tokens.weight' has shape [16, 8], expected [32, 8]"),
            std::string::npos);
}

TEST_F(HfWeights, UnsupportedDtypeForAWeight) {
  for (const char* dtype : {"I64", "F64"}) {
    std::vector<TensorBytes> t = test::tiny_model_tensors(config_, dtype_);
    for (TensorBytes& x : t)
      if (x.name == "model.layers.0.mlp.gate_proj.weight" || x.name == "model.norm.weight") {
        x.dtype = dtype;
        x.bytes.resize(x.bytes.size() * 4);  // 8-byte elements
      }
    // The norm comes first in load order.
    EXPECT_EQ(error_of(config_, t), model_file() + ": tensor 'model.norm.weight' has dtype " + dtype +
                                        "; weights must be F32, F16 or BF16");
  }
  // A non-weight tensor of another dtype is fine.
  std::vector<TensorBytes> t = test::tiny_model_tensors(config_, dtype_);
  t.push_back({"model.rotary_emb.step", "I64", {1}, std::vector<uint8_t>(8, 0)});
  EXPECT_EQ(error_of(config_, t), "");
}

TEST_F(HfWeights, CorruptFileIsNamedBeforeAnyTensorIsRead) {
  test::write_file(config_path(), config_.dump());
  std::string bytes = test::safetensors_file(test::tiny_model_tensors(config_, dtype_));
  test::write_file(model_file(), bytes.substr(0, bytes.size() - 100));  // data cut short
  try {
    load_hf_weights(dir_.path(), load_hf_config(config_path()), config_path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(model_file() + ": tensor '", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("run past the end of the data"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvwb
