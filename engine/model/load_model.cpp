// load_model: picks the loader for a path. Today an HF directory; a GGUF file gets its own
// branch in load_model (and its own loader file) later.
#include <filesystem>

#include "engine/core/error.h"
#include "engine/model/hf_weights.h"
#include "engine/model/model.h"

namespace kvwb {
namespace fs = std::filesystem;
namespace {

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
  return model;
}

}  // namespace

std::unique_ptr<Model> load_model(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_directory(st)) return load_hf_directory(fs::path(path));
  if (!fs::exists(st)) fail(path, "not a model directory (no such file or directory)");
  fail(path, "not a model directory (expected an HF directory with config.json, *.safetensors and tokenizer.json)");
}

}  // namespace kvwb
