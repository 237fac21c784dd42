// load_model: picks the loader for a path: an HF directory, or a GGUF file (gguf_model.cpp).
#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/json_file.h"
#include "engine/model/gguf_model.h"
#include "engine/model/hf_weights.h"
#include "engine/model/model.h"
#include "engine/model/weights_intact.h"

namespace kvwb {
namespace fs = std::filesystem;
namespace {

// tokenizer_config.json's chat_template: a string, or a list of {name, template} of which
// the one named "default" is the chat template. Empty when the file or the key is absent.
std::string hf_chat_template(const fs::path& dir) {
  const fs::path path = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  const Json config = read_json_file(path.string());
  if (!config.is_object() || !config.contains("chat_template") || config.at("chat_template").is_null()) return {};
  const Json& t = config.at("chat_template");
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    for (const Json& entry : t) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry.at("template").is_string())
        return entry.at("template").get<std::string>();
    }
    return {};
  }
  fail(path.string(), "'chat_template' must be a string or a list of {{name, template}}");
}

std::unique_ptr<Model> load_hf_directory(const fs::path& dir) {
  const fs::path config_path = dir / "config.json";
  const fs::path tokenizer_path = dir / "tokenizer.json";
  std::error_code ec;
  // Check the small files first so a broken directory fails before any weight is mapped.
  if (!fs::is_regular_file(config_path, ec)) fail(config_path.string(), "missing (an HF model directory needs config.json)");
  if (!fs::is_regular_file(tokenizer_path, ec))
    fail(tokenizer_path.string(), "missing (an HF model directory needs tokenizer.json)");

  auto model = std::make_unique<Model>();
  model->path = dir.string();
  model->config = load_hf_config(config_path.string());
  model->weights = load_hf_weights(dir.string(), model->config, config_path.string());

  TokenizerDefaults defaults;
  defaults.bos_id = model->config.bos_token_id;
  defaults.eos_ids = model->config.eos_token_ids;
  model->tokenizer = load_tokenizer_json(tokenizer_path.string(), defaults);
  // Token ids index the embedding rows: a tokenizer larger than the embedding would read
  // past it. (Smaller is common: Qwen2 pads vocab_size.)
  if (model->tokenizer->vocab_size() > model->config.vocab_size)
    fail(tokenizer_path.string(), "has {} tokens but {} says vocab_size {}", model->tokenizer->vocab_size(),
         config_path.string(), model->config.vocab_size);
  model->chat_template = hf_chat_template(dir);
  return model;
}

}  // namespace

std::unique_ptr<Model> load_model(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  std::unique_ptr<Model> model;
  if (fs::is_directory(st)) {
    model = load_hf_directory(fs::path(path));
  } else if (!fs::exists(st)) {
    fail(path, "not a model directory (no such file or directory)");
  } else if (fs::path(path).extension() == ".gguf" || has_gguf_magic(path)) {
    // A .gguf name goes to the GGUF loader even when the magic is wrong, so that the error
    // says what is wrong with the GGUF file.
    model = load_gguf_model(path);
  } else {
    fail(path, "not a model directory or GGUF file (expected an HF directory with config.json, *.safetensors and "
         "tokenizer.json, or a .gguf file)");
  }
  check_weights_intact(model->weights);  // truncated by another process while it loaded
  return model;
}

}  // namespace kvwb
