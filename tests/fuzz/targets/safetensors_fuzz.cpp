// safetensors header and shard index. An input starting with '{' is a
// model.safetensors.index.json beside the three real shards of the llama-untied fixture;
// anything else is a model.safetensors. Whatever opens is then read as the weights of the
// llama-tied fixture's config.json (shape, dtype and name checks).
#include <filesystem>

#include "engine/model/hf_weights.h"
#include "engine/model/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

namespace {

const fs::path& sharded_dir() {
  static const fs::path dir = [] {
    const fs::path d = fuzz::scratch_subdir("sharded");
    const fs::path fixture = fuzz::source_dir() + "/tests/fixtures/models/llama-untied";
    for (const char* shard : {"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                              "model-00003-of-00003.safetensors"}) {
      fs::copy_file(fixture / shard, d / shard, fs::copy_options::overwrite_existing);
    }
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path config_path = fuzz::source_dir() + "/tests/fixtures/models/llama-tied/config.json";
  static const ModelConfig config = load_hf_config(config_path.string());
  const bool index = size > 0 && data[0] == '{';
  const fs::path dir = index ? sharded_dir() : fuzz::scratch_subdir("single");
  const fs::path file = dir / (index ? "model.safetensors.index.json" : "model.safetensors");
  fuzz::write_file(file, data, size);
  try {
    if (!index) {
      SafetensorsFile single(file.string());
      for (const auto& [name, t] : single.tensors()) {
        // Every tensor handed out lies inside the mapping: touch its first and last byte.
        volatile uint8_t sink = 0;
        if (t.nbytes > 0) sink = static_cast<uint8_t>(t.data[0] ^ t.data[t.nbytes - 1]);
        (void)sink;
      }
    }
    SafetensorsCheckpoint checkpoint(dir.string());
    ModelWeights weights = load_hf_weights(dir.string(), config, config_path.string());
  } catch (const Error& e) {
    // Errors name the checkpoint file, a shard it lists, or (for shapes) config.json.
    const std::string what = e.what();
    if (what.find(config_path.string()) == std::string::npos) fuzz::check_error_names(e, dir);
  }
  return 0;
}
