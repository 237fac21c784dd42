// load_model on GGUF files: the fixtures written by gguf-py from the HF fixture models map to
// the same config, norms, biases and tokenizer as the HF originals; a model with one thing
// broken gives an Error naming the file and the key or tensor.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/model/gguf_file.h"
#include "engine/model/model.h"
#include "tests/model/checkpoint_writer.h"
#include "tests/model/gguf_writer.h"

namespace kvwb {
namespace {

using test::GgufBuilder;
using test::TempDir;

std::string src(const std::string& rel) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/" + rel; }

std::string load_error(const std::string& path) {
  try {
    load_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GgufModel, LlamaFixtureMatchesItsHfOriginal) {
  const auto gguf = load_model(src("gguf/llama-tied.gguf"));
  const auto hf = load_model(src("models/llama-tied"));
  const ModelConfig& c = gguf->config;
  EXPECT_EQ(c.architecture, Architecture::Llama);
  EXPECT_EQ(c.architecture_name, "llama");
  EXPECT_EQ(c.num_layers, hf->config.num_layers);
  EXPECT_EQ(c.hidden_size, hf->config.hidden_size);
  EXPECT_EQ(c.intermediate_size, hf->config.intermediate_size);
  EXPECT_EQ(c.num_heads, hf->config.num_heads);
  EXPECT_EQ(c.num_kv_heads, hf->config.num_kv_heads);
  EXPECT_EQ(c.head_dim, hf->config.head_dim);
  EXPECT_EQ(c.vocab_size, hf->config.vocab_size);
  EXPECT_EQ(c.max_position_embeddings, hf->config.max_position_embeddings);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, hf->config.rms_norm_eps);
  EXPECT_FLOAT_EQ(c.rope_theta, hf->config.rope_theta);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_ids, std::vector<int32_t>{0});

  const ModelWeights& w = gguf->weights;
  EXPECT_EQ(w.rope_style, kernels::RopeStyle::Pair);
  EXPECT_EQ(w.embed.dtype, kernels::DType::Q8_0);
  EXPECT_EQ(w.embed.rows, 384);
  EXPECT_EQ(w.embed.cols, 64);
  EXPECT_EQ(w.lm_head.data, w.embed.data);  // tied: no `output` tensor
  EXPECT_EQ(w.layers[0].q.dtype, kernels::DType::Q4_0);
  EXPECT_EQ(w.layers[0].k.dtype, kernels::DType::Q4_1);
  EXPECT_EQ(w.layers[0].k.rows, 32);  // [kv_heads * head_dim, hidden]
  EXPECT_EQ(w.layers[0].o.dtype, kernels::DType::F16);
  EXPECT_EQ(w.layers[1].down.dtype, kernels::DType::BF16);
  EXPECT_EQ(w.layers[1].down.rows, 64);
  EXPECT_EQ(w.layers[1].down.cols, 128);
  // F32 tensors come through unchanged.
  EXPECT_EQ(w.final_norm, hf->weights.final_norm);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    EXPECT_EQ(w.layers[l].attn_norm, hf->weights.layers[l].attn_norm);
    EXPECT_EQ(w.layers[l].ffn_norm, hf->weights.layers[l].ffn_norm);
  }
  EXPECT_NE(gguf->chat_template.find("<|im_start|>"), std::string::npos);
}

TEST(GgufModel, TokenizerFromMetadataEncodesAsTheHfTokenizer) {
  const auto gguf = load_model(src("gguf/llama-tied.gguf"));
  const nlohmann::json goldens = read_json_file(src("models/goldens.json"));
  const auto texts = goldens.at("prompts").get<std::vector<std::string>>();
  const auto ids = goldens.at("prompt_ids").get<std::vector<std::vector<int32_t>>>();
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(gguf->tokenizer->encode(texts[i], false), ids[i]) << texts[i];
    EXPECT_EQ(gguf->tokenizer->decode(ids[i]), texts[i]);
  }
  EXPECT_EQ(gguf->tokenizer->vocab_size(), 384);
  EXPECT_TRUE(gguf->tokenizer->is_special(0));
  EXPECT_FALSE(gguf->tokenizer->add_bos_by_default());
}

TEST(GgufModel, Qwen2FixtureRotatesHalvesAndKeepsItsBiases) {
  const auto gguf = load_model(src("gguf/qwen2-bias.gguf"));
  const auto hf = load_model(src("models/qwen2-bias"));
  EXPECT_EQ(gguf->config.architecture, Architecture::Qwen2);
  EXPECT_EQ(gguf->weights.rope_style, kernels::RopeStyle::Half);
  EXPECT_TRUE(gguf->config.attention_bias);
  EXPECT_FALSE(gguf->config.o_proj_bias);
  EXPECT_FLOAT_EQ(gguf->config.rope_theta, hf->config.rope_theta);
  for (size_t l = 0; l < gguf->weights.layers.size(); ++l) {
    EXPECT_EQ(gguf->weights.layers[l].q_bias, hf->weights.layers[l].q_bias);
    EXPECT_EQ(gguf->weights.layers[l].k_bias, hf->weights.layers[l].k_bias);
    EXPECT_EQ(gguf->weights.layers[l].v_bias, hf->weights.layers[l].v_bias);
  }
}

TEST(GgufModel, FileWithGgufMagicLoadsWhateverItsName) {
  TempDir dir;
  const std::string path = dir.file("model.bin");
  std::filesystem::copy_file(src("gguf/llama-tied.gguf"), path);
  EXPECT_EQ(load_model(path)->config.num_layers, 2);
  // A .gguf name with the wrong contents says what is wrong with it as a GGUF.
  test::write_bytes(dir.file("x.gguf"), {'n', 'o', 'p', 'e'});
  EXPECT_EQ(load_error(dir.file("x.gguf")), dir.file("x.gguf") + ": not a GGUF file (the first 4 bytes are not the magic 'GGUF')");
}

// Writes the llama fixture with one change and returns load_model's error.
template <typename Change>
std::string broken(Change change) {
  static TempDir dir;
  GgufBuilder b(GgufFile(src("gguf/llama-tied.gguf")));
  change(b);
  const std::string path = dir.file("broken.gguf");
  b.write(path);
  const std::string e = load_error(path);
  EXPECT_EQ(e.rfind(path + ": ", 0), 0u) << e;
  return e.substr(std::min(e.size(), path.size() + 2));
}

TEST(GgufModel, BrokenModelsNameTheKeyOrTensor) {
  EXPECT_EQ(broken([](GgufBuilder& b) { b.tensor("blk.1.attn_k.weight").dims = {64, 16}; }),
            "tensor 'blk.1.attn_k.weight' has dims [64, 16], expected [64, 32] (innermost first) from the model's metadata");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.remove_tensor("blk.1.ffn_up.weight"); }),
            "missing tensor 'blk.1.ffn_up.weight'");
  EXPECT_EQ(broken([](GgufBuilder& b) {
              auto& t = b.tensor("blk.0.attn_q.weight");
              t.ggml_type = 6;  // Q5_0: a valid GGUF type kvwb does not run
              t.bytes.resize(64 * 64 / 32 * 22);
            }),
            "tensor 'blk.0.attn_q.weight' has type Q5_0 (6), which kvwb cannot run yet (supported: F32, F16, BF16, "
            "Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("general.architecture", test::gguf_str("gpt2")); }),
            "general.architecture 'gpt2' is not supported (kvwb runs the Llama family: llama, qwen2)");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.remove("llama.block_count"); }), "missing metadata 'llama.block_count'");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("llama.attention.head_count_kv", test::gguf_u32(3)); }),
            "metadata 'llama.attention.head_count' 4 is not a multiple of head_count_kv 3");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("llama.rope.scaling.type", test::gguf_str("yarn")); }),
            "metadata 'llama.rope.scaling.type' is 'yarn' (factor 1); kvwb supports no RoPE scaling in GGUF yet");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("tokenizer.ggml.pre", test::gguf_str("deepseek-llm")); }),
            "tokenizer.ggml.pre 'deepseek-llm' is not a pre-tokenizer kvwb knows (known: gpt-2, smollm, starcoder, "
            "refact, llama-bpe, llama3, qwen2)");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("tokenizer.ggml.model", test::gguf_str("llama")); }),
            "tokenizer.ggml.model 'llama' (SentencePiece) is not supported yet; kvwb reads gpt2-style (byte-level "
            "BPE) GGUF vocabularies");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("tokenizer.ggml.eos_token_id", test::gguf_u32(5000)); }),
            "tokenizer.ggml.eos_token_id 5000 is outside the vocabulary (384 tokens)");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("tokenizer.ggml.merges", test::gguf_strings({"a b", "nospace"})); }),
            "tokenizer.ggml.merges[1] is 'nospace', expected two tokens separated by one space");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("llama.block_count", test::gguf_str("two")); }),
            "metadata 'llama.block_count' has type string, expected an integer");
  EXPECT_EQ(broken([](GgufBuilder& b) { b.set("llama.vocab_size", test::gguf_u32(400)); }),
            "metadata 'llama.vocab_size' is 400 but 'token_embd.weight' has 384 rows");
  EXPECT_EQ(broken([](GgufBuilder& b) {
              std::vector<std::string> tokens;
              for (int i = 0; i < 400; ++i) tokens.push_back(std::string("t").append(std::to_string(i)));
              b.set("tokenizer.ggml.tokens", test::gguf_strings(tokens));
              b.remove("tokenizer.ggml.token_type");
              b.set("tokenizer.ggml.merges", test::gguf_strings({}));
            }),
            "the tokenizer has 400 tokens but 'token_embd.weight' has only 384 rows");
}

}  // namespace
}  // namespace kvwb
