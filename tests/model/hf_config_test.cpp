// config.json -> ModelConfig: fields, transformers' defaults, and one clear error per bad input.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/model/model_config.h"
#include "tests/model/checkpoint_writer.h"

namespace kvwb {
namespace {

using test::ordered_json;

class HfConfig : public ::testing::Test {
 protected:
  ModelConfig load(const ordered_json& j) {
    test::write_file(path(), j.dump());
    return load_hf_config(path());
  }
  // The message of the Error that loading `text` raises ("" when it loads).
  std::string error_of_text(const std::string& text) {
    test::write_file(path(), text);
    try {
      load_hf_config(path());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::string error_of(const ordered_json& j) { return error_of_text(j.dump()); }
  std::string path() const { return dir_.file("config.json"); }

  test::TempDir dir_;
};

TEST_F(HfConfig, ReadsEveryFieldOfALlamaConfig) {
  ordered_json j = test::tiny_config();
  j["eos_token_id"] = {2, 7};
  const ModelConfig c = load(j);
  EXPECT_EQ(c.architecture, Architecture::Llama);
  EXPECT_EQ(c.architecture_name, "LlamaForCausalLM");
  EXPECT_EQ(c.vocab_size, 16);
  EXPECT_EQ(c.hidden_size, 8);
  EXPECT_EQ(c.intermediate_size, 12);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 2);  // 8 / 4
  EXPECT_EQ(c.max_position_embeddings, 64);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_EQ(c.rope_scaling.type, "none");
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.o_proj_bias);
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{2, 7}));
}

TEST_F(HfConfig, AppliesTransformersDefaultsForAbsentFields) {
  ordered_json j = test::tiny_config();
  for (const char* key : {"num_key_value_heads", "rms_norm_eps", "rope_theta", "max_position_embeddings",
                          "bos_token_id", "eos_token_id", "tie_word_embeddings"})
    j.erase(key);
  const ModelConfig c = load(j);
  EXPECT_EQ(c.num_kv_heads, 4);  // = num_attention_heads (no GQA)
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_EQ(c.max_position_embeddings, 2048);  // LlamaConfig's default
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_TRUE(c.eos_token_ids.empty());
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST_F(HfConfig, HeadDimFromTheFileWinsOverHiddenOverHeads) {
  ordered_json j = test::tiny_config();
  j["head_dim"] = 4;  // 8 / 4 would give 2
  EXPECT_EQ(load(j).head_dim, 4);
}

TEST_F(HfConfig, AcceptsModelTypeWhenArchitecturesIsAbsent) {
  ordered_json j = test::tiny_config();
  j.erase("architectures");
  j["model_type"] = "qwen2";
  const ModelConfig c = load(j);
  EXPECT_EQ(c.architecture, Architecture::Qwen2);
  EXPECT_EQ(c.architecture_name, "Qwen2ForCausalLM");
}

TEST_F(HfConfig, BiasesFollowTheArchitecture) {
  const ModelConfig qwen = load(test::tiny_config("Qwen2ForCausalLM"));
  EXPECT_TRUE(qwen.attention_bias);  // q/k/v always, without any key
  EXPECT_FALSE(qwen.o_proj_bias);
  ordered_json llama = test::tiny_config();
  llama["attention_bias"] = true;
  const ModelConfig c = load(llama);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.o_proj_bias);  // LlamaAttention puts the bias on o_proj too
  EXPECT_FALSE(load(test::tiny_config("MistralForCausalLM")).attention_bias);
}

TEST_F(HfConfig, SlidingWindowOnlyWhereTheArchitectureUsesIt) {
  ordered_json mistral = test::tiny_config("MistralForCausalLM");
  mistral["sliding_window"] = 4096;
  EXPECT_EQ(load(mistral).sliding_window, 4096);
  mistral["sliding_window"] = nullptr;  // Mistral v0.2+
  EXPECT_EQ(load(mistral).sliding_window, 0);
  ordered_json qwen = test::tiny_config("Qwen2ForCausalLM");
  qwen["sliding_window"] = 32768;
  qwen["use_sliding_window"] = false;
  EXPECT_EQ(load(qwen).sliding_window, 0);
  qwen["use_sliding_window"] = true;
  EXPECT_EQ(load(qwen).sliding_window, 32768);
}

TEST_F(HfConfig, ReadsLlama3RopeScalingUnderEitherKeyName) {
  ordered_json j = test::tiny_config();
  j["rope_scaling"] = {{"type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  const ModelConfig c = load(j);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 8.0f);
  EXPECT_FLOAT_EQ(c.rope_scaling.low_freq_factor, 1.0f);
  EXPECT_FLOAT_EQ(c.rope_scaling.high_freq_factor, 4.0f);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(load(j).rope_scaling.type, "none");
  j["rope_scaling"] = nullptr;
  EXPECT_EQ(load(j).rope_scaling.type, "none");
}

TEST_F(HfConfig, MissingOrMalformedFileNamesIt) {
  EXPECT_NE(error_of_text("{\"hidden_size\": 8,").find(path() + ": malformed JSON"), std::string::npos);
  EXPECT_NE(error_of_text("[1, 2]").find(path() + ": expected a JSON object"), std::string::npos);
  const std::string missing = dir_.file("nope.json");
  try {
    load_hf_config(missing);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST_F(HfConfig, UnknownArchitectureIsNamed) {
  EXPECT_NE(error_of(test::tiny_config("GPT2LMHeadModel")).find(path() + ": unsupported architecture 'GPT2LMHeadModel'"),
            std::string::npos);
  ordered_json j = test::tiny_config();
  j.erase("architectures");
  j["model_type"] = "gpt_neox";
  EXPECT_NE(error_of(j).find(path() + ": unsupported model_type 'gpt_neox'"), std::string::npos);
  j.erase("model_type");
  EXPECT_NE(error_of(j).find("missing required field 'architectures'"), std::string::npos);
}

TEST_F(HfConfig, EachMissingRequiredFieldIsNamed) {
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}) {
    ordered_json j = test::tiny_config();
    j.erase(key);
    EXPECT_EQ(error_of(j), path() + ": missing required field '" + key + "'") << key;
  }
}

TEST_F(HfConfig, BadValuesAreRejectedWithTheField) {
  struct Case {
    const char* key;
    ordered_json value;
    std::string expected;
  };
  const Case cases[] = {
      {"num_key_value_heads", 3, "num_attention_heads (4) must be divisible by num_key_value_heads (3)"},
      {"head_dim", 3, "head_dim (3) must be even"},
      {"hidden_size", 0, "field 'hidden_size' must be at least 1, got 0"},
      {"num_hidden_layers", -2, "field 'num_hidden_layers' must be at least 1, got -2"},
      {"intermediate_size", 12.5, "field 'intermediate_size' must be an integer"},
      {"vocab_size", "16", "field 'vocab_size' must be an integer"},
      // Above INT64_MAX: refused as such, not wrapped to -1 ("must be at least 1, got -1").
      {"vocab_size", 18446744073709551615ull, "field 'vocab_size' is out of range (must be in [-9223372036854775808, "},
      {"rms_norm_eps", 0.0, "field 'rms_norm_eps' must be a positive number"},
      {"rope_theta", "big", "field 'rope_theta' must be a number"},
      {"eos_token_id", 16, "field 'eos_token_id' = 16 is outside the vocabulary [0, 16)"},
      {"bos_token_id", -1, "field 'bos_token_id' = -1 is outside the vocabulary"},
      {"tie_word_embeddings", "yes", "field 'tie_word_embeddings' has the wrong type"},
      {"hidden_act", "gelu", "field 'hidden_act' is 'gelu'; only silu"},
      {"mlp_bias", true, "field 'mlp_bias' is true"},
      {"architectures", ordered_json::array(), "field 'architectures' must be a non-empty list"},
  };
  for (const Case& c : cases) {
    ordered_json j = test::tiny_config();
    j[c.key] = c.value;
    EXPECT_EQ(error_of(j).rfind(path() + ": " + c.expected, 0), 0u) << c.key << " -> " << error_of(j);
  }
  ordered_json j = test::tiny_config();
  j["hidden_size"] = 10;  // not divisible by 4 heads, and no head_dim
  EXPECT_NE(error_of(j).find("hidden_size (10) must be divisible by num_attention_heads (4)"), std::string::npos);
}

TEST_F(HfConfig, BadRopeScalingIsRejected) {
  const ordered_json good = {{"rope_type", "llama3"},
                             {"factor", 8.0},
                             {"low_freq_factor", 1.0},
                             {"high_freq_factor", 4.0},
                             {"original_max_position_embeddings", 8192}};
  struct Case {
    ordered_json scaling;
    std::string expected;
  };
  ordered_json no_factor = good, same_factors = good, no_original = good, zero_factor = good;
  no_factor.erase("factor");
  same_factors["high_freq_factor"] = 1.0;
  no_original.erase("original_max_position_embeddings");
  zero_factor["factor"] = 0;
  const Case cases[] = {
      {{{"rope_type", "yarn"}, {"factor", 4.0}}, ": rope_scaling type 'yarn' is not supported"},
      {{{"type", "linear"}, {"factor", 4.0}}, ": rope_scaling type 'linear' is not supported"},
      {{{"factor", 4.0}}, ": field 'rope_scaling' has no 'rope_type'"},
      {"llama3", ": field 'rope_scaling' must be null or an object"},
      {no_factor, ": rope_scaling: missing required field 'factor'"},
      {no_original, ": rope_scaling: missing required field 'original_max_position_embeddings'"},
      {zero_factor, ": rope_scaling: field 'factor' must be a positive number"},
      {same_factors, ": rope_scaling: high_freq_factor (1) must be greater than low_freq_factor (1)"},
  };
  for (const Case& c : cases) {
    ordered_json j = test::tiny_config();
    j["rope_scaling"] = c.scaling;
    EXPECT_EQ(error_of(j).rfind(path() + c.expected, 0), 0u) << c.scaling.dump() << " -> " << error_of(j);
  }
}

}  // namespace
}  // namespace kvwb
