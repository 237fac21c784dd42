#pragma once
// Where models live: shorthands (demo, smollm2) and the git-ignored download cache.
#include <string>

namespace kvwb {

// The download cache: $KVWB_MODEL_CACHE, else $XDG_CACHE_HOME/kvwb/models, else
// ~/.cache/kvwb/models.
std::string model_cache_dir();

// Turns a --model value into a path: an existing file or directory is returned as is;
// "demo" is the committed models/demo (found from $KVWB_HOME, the working directory, or the
// executable's location); "smollm2" is the GGUF in the model cache. Throws Error otherwise.
std::string resolve_model_path(const std::string& name_or_path);

}  // namespace kvwb
