// RunConfig JSON (kvwb-cli run --config, config import). Whatever loads must survive a save
// and load unchanged.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/config/run_config.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path file = fuzz::scratch_dir() / "run.json";
  fuzz::write_file(file, data, size);
  RunConfig config;
  try {
    config = load_run_config(file.string());
  } catch (const Error& e) {
    fuzz::check_error_names(e, file);
    return 0;
  }
  const nlohmann::json once = run_config_to_json(config);
  const nlohmann::json twice = run_config_to_json(run_config_from_json(once, "round trip"));
  fuzz::require(once == twice, "a loaded RunConfig saves and loads unchanged");
  return 0;
}
