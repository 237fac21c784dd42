#pragma once
// What the workbench opens on: SmolLM2 when its GGUF is in the model cache (with a RULER
// quick workload when data/ has one), else the committed demo model with data/demo-quick.jsonl;
// and the models and workloads the pickers offer.
#include <string>
#include <vector>

#include "engine/config/run_config.h"

namespace kvwb {

// The data/ folder of the kvwb checkout ($KVWB_HOME, the working directory or the executable's
// directory, or one of their parents), relative to the working directory when inside it;
// empty when none is found.
std::string find_data_dir();
// The *.jsonl files in `dir`, sorted by name.
std::vector<std::string> list_workloads(const std::string& dir);
// Model shorthands that resolve on this machine (smollm2 first when it is downloaded).
std::vector<std::string> available_models();
// The config the window opens with: the default model and workload and an evicting policy. On
// SmolLM2, the config chosen by the sweep in docs/workbench.md ("The first run"): a fixed KV
// pool that limits full KV's batch, Batch-Max at a budget that keeps most of full KV's accuracy
// at a larger batch. On the demo model, Batch-Max at 256 tokens with the auto pool.
RunConfig default_run_config();

}  // namespace kvwb
