#pragma once
// Weight files that shrank under their memory map (engine/core/mapping_guard.h): their lost
// bytes read as zeros, so whatever was computed from them since is wrong.
#include "engine/model/model.h"

namespace kvwb {

// Throws Error naming the first weight file that shrank under its memory map since it was
// loaded; load_model calls it after loading and Forward::run after every pass.
void check_weights_intact(const ModelWeights& weights);

}  // namespace kvwb
