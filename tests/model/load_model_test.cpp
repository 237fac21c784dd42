// load_model on HF directories: every fixture loads whole (config, weights, tokenizer), and a
// broken directory gives an Error naming the missing or bad file.
#include "engine/model/model.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/core/error.h"
#include "tests/model/checkpoint_writer.h"

namespace kvwb {
namespace {
namespace fs = std::filesystem;
using test::ordered_json;

std::string fixture(const std::string& name) { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/" + name; }

std::string error_of(const std::string& path) {
  try {
    load_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LoadModel, EveryFixtureLoadsWithItsTokenizer) {
  for (const char* name : {"llama-bf16", "llama-f16", "llama-gqa4", "llama-tied", "llama-untied", "llama3-rope",
                           "qwen2-bias"}) {
    SCOPED_TRACE(name);
    const std::unique_ptr<Model> m = load_model(fixture(name));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->path, fixture(name));
    EXPECT_EQ(m->config.vocab_size, 384);
    EXPECT_EQ(m->weights.layers.size(), 2u);
    ASSERT_NE(m->tokenizer, nullptr);
    // fixtures/models/README.md: 384 tokens, <|endoftext|> = id 0 is BOS and EOS.
    EXPECT_EQ(m->tokenizer->vocab_size(), 384);
    EXPECT_EQ(m->tokenizer->token_id("<|endoftext|>"), 0);
    EXPECT_EQ(m->tokenizer->eos_ids(), std::vector<int32_t>{0});
  }
}

class LoadModelErrors : public ::testing::Test {
 protected:
  // A copy of a fixture that a test may break.
  std::string copy_of(const std::string& name) {
    const std::string dst = dir_.file(name);
    fs::copy(fixture(name), dst, fs::copy_options::recursive);
    return dst;
  }
  test::TempDir dir_;
};

TEST_F(LoadModelErrors, PathThatIsNotADirectory) {
  const std::string missing = dir_.file("no-such-model");
  EXPECT_EQ(error_of(missing), missing + ": not a model directory (no such file or directory)");
  const std::string file = fixture("llama-tied") + "/config.json";
  EXPECT_EQ(error_of(file).rfind(file + ": not a model directory", 0), 0u);
}

TEST_F(LoadModelErrors, MissingConfigOrTokenizerOrWeights) {
  const std::string a = copy_of("llama-tied");
  fs::remove(a + "/config.json");
  EXPECT_EQ(error_of(a), a + "/config.json: missing (an HF model directory needs config.json)");

  const std::string b = copy_of("qwen2-bias");
  fs::remove(b + "/tokenizer.json");
  EXPECT_EQ(error_of(b), b + "/tokenizer.json: missing (an HF model directory needs tokenizer.json)");

  const std::string c = copy_of("llama-f16");
  fs::remove(c + "/model.safetensors");
  EXPECT_EQ(error_of(c), c + ": no weights: neither model.safetensors nor model.safetensors.index.json is present");

  const std::string d = copy_of("llama-untied");
  fs::remove(d + "/model-00002-of-00003.safetensors");
  EXPECT_NE(error_of(d).find(d + "/model.safetensors.index.json: shard 'model-00002-of-00003.safetensors'"),
            std::string::npos);
}

TEST_F(LoadModelErrors, BrokenFilesAreNamed) {
  const std::string a = copy_of("llama-tied");
  test::write_file(a + "/config.json", "{\"architectures\": [\"LlamaForCausalLM\"], ");
  EXPECT_EQ(error_of(a).rfind(a + "/config.json: malformed JSON", 0), 0u) << error_of(a);

  const std::string b = copy_of("llama-bf16");
  test::write_file(b + "/tokenizer.json", "not json");
  EXPECT_EQ(error_of(b).rfind(b + "/tokenizer.json", 0), 0u) << error_of(b);

  const std::string c = copy_of("llama-gqa4");
  const fs::path weights = c + "/model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) - 1000);  // truncated download
  EXPECT_EQ(error_of(c).rfind(weights.string() + ": tensor '", 0), 0u) << error_of(c);
}

TEST_F(LoadModelErrors, TokenizerLargerThanTheEmbedding) {
  // A tiny model with 16 embedding rows next to the fixtures' 384-token tokenizer.
  const ordered_json config = test::tiny_config();
  test::write_model(dir_.path(), config, test::tiny_model_tensors(config, "F32"));
  fs::copy_file(fixture("llama-tied") + "/tokenizer.json", dir_.file("tokenizer.json"));
  EXPECT_EQ(error_of(dir_.path()), dir_.file("tokenizer.json") + ": has 384 tokens but " + dir_.file("config.json") +
                                       " says vocab_size 16");
}

}  // namespace
}  // namespace kvwb
