// config.json of an HF model: hyper-parameters, RoPE scaling, token ids.
#include <filesystem>

#include "engine/model/model_config.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path file = fuzz::scratch_dir() / "config.json";
  fuzz::write_file(file, data, size);
  try {
    const ModelConfig c = load_hf_config(file.string());
    fuzz::require(c.num_heads > 0 && c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0, "heads group evenly");
    fuzz::require(c.head_dim > 0 && c.head_dim % 2 == 0, "RoPE needs an even head_dim");
    // The loader computes RoPE frequencies only after the weights matched head_dim, so a real
    // head_dim is bounded by the file; an absurd one here would only measure the allocator.
    if (c.head_dim <= 65536) {
      const std::vector<float> inv_freq = rope_inv_freq(c);
      fuzz::require(inv_freq.size() == static_cast<size_t>(c.head_dim / 2), "one RoPE frequency per pair");
    }
  } catch (const Error& e) {
    fuzz::check_error_names(e, file);
  }
  return 0;
}
