// GPU activity in a build without CUPTI: nothing to collect, and the caller is told why.
#ifndef KVWB_HAVE_CUPTI

#include "profiler/gpu_activity.h"

namespace kvwb {

GpuActivityStart start_gpu_activity(Profiler&) {
  return {nullptr,
          "GPU activity profiling unavailable: kvwb was built without CUDA/CUPTI; "
          "continuing with CPU timings"};
}

bool gpu_activity_built() { return false; }

std::optional<int64_t> gpu_memory_used_bytes() { return std::nullopt; }

}  // namespace kvwb

#endif  // KVWB_HAVE_CUPTI
