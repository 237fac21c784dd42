#include "engine/model/weights_intact.h"

#include "engine/core/error.h"
#include "engine/core/mapping_guard.h"

namespace kvwb {

void check_weights_intact(const ModelWeights& weights) {
  for (const MappedFile& f : weights.files) {
    if (mapping_guard::damaged(f.data())) {
      fail(f.path(), "the file shrank while kvwb had it memory-mapped (another process truncated or rewrote it); "
                     "what was computed from it is wrong, so the run stops here: reload the model");
    }
  }
}

}  // namespace kvwb
