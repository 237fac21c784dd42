#pragma once
// GPU activity (CUPTI): kernels, copies, memsets and device allocations, recorded by the GPU and
// collected into the same Profiler as CPU spans (Category::kernel / memcpy / memset spans on
// GPU stream tracks, Category::memory instants plus a "gpu_allocated_bytes" counter).
//
// Every GPU span is attributed to the op span (Category::op, ScopedSpan) that was open on the
// launching thread: args "op" (its name) and "op_id" (the same id as the CPU span's "op_id"
// arg), and the op's step. Work launched outside an op gets the step current at flush().
//
//   GpuActivityStart gpu = start_gpu_activity(profiler);
//   if (!gpu.activity) print(gpu.message);   // once; CPU profiling goes on
//   ... per step: backend.synchronize(); if (gpu.activity) gpu.activity->flush();
//
// One collector at a time per process (CUPTI's activity callbacks are global). Destroy it when
// no op span is open (op spans call back into it when they close), before the Profiler.
// Built only where CUDA and CUPTI are found (KVWB_HAVE_CUPTI); elsewhere start_gpu_activity
// returns no collector and says so.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "profiler/profiler.h"

namespace kvwb {

inline constexpr const char* kGpuAllocatedBytesCounter = "gpu_allocated_bytes";

class GpuActivity {
 public:
  virtual ~GpuActivity() = default;  // flushes what is left, then stops collecting

  // Moves the GPU activity finished so far into the profiler. Call at step ends, after the
  // device has synchronized and outside any op span (CUPTI cuptiActivityFlushAll(1)).
  virtual void flush() = 0;
  // Device memory allocated minus released since start, from allocation records (all devices).
  virtual int64_t allocated_bytes() const = 0;
  // Records lost by CUPTI (full buffers) or beyond the collector's pending cap, so far.
  virtual int64_t dropped_records() const = 0;
};

struct GpuActivityStart {
  std::unique_ptr<GpuActivity> activity;  // null when GPU activity cannot be collected
  std::string message;                    // why not (one line), empty on success
};

// Starts collecting GPU activity into `profiler` (which must outlive the collector). Never
// throws for a missing GPU, driver or permission: it returns no collector and a message.
GpuActivityStart start_gpu_activity(Profiler& profiler);

// Whether this build has CUPTI support.
bool gpu_activity_built();

// Device memory in use on the current CUDA device (total − free, cudaMemGetInfo), or nullopt
// without CUDA or a GPU. For StepCounters::gpu_memory_used_bytes.
std::optional<int64_t> gpu_memory_used_bytes();

}  // namespace kvwb
