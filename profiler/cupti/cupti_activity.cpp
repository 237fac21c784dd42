// The CUPTI activity collector behind gpu_activity.h (built with KVWB_HAVE_CUPTI only).
//
// CUPTI asks for buffers (buffer_requested), fills them with activity records on the GPU's
// behalf and hands them back when full or flushed (buffer_completed, on CUPTI's own thread or
// inside cuptiActivityFlushAll). Records go to an ActivityAssembler; flush() moves the result
// into the Profiler. Op attribution: every op span pushes its op id as a CUPTI external
// correlation id (CUSTOM0) while it is open, so API calls inside it - and through their
// correlation ids the kernels and copies they launched - name the op.
#ifdef KVWB_HAVE_CUPTI

#include <cuda_runtime_api.h>
#include <cupti.h>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include "profiler/cupti/activity_assembler.h"
#include "profiler/gpu_activity.h"
#include "profiler/gpu_clock.h"

namespace kvwb {
namespace {

constexpr size_t kBufferBytes = size_t{8} << 20;
constexpr size_t kBufferAlign = 8;  // CUPTI requires 8-byte aligned buffers

// Needed for the schema; without them nothing useful is collected.
constexpr std::pair<CUpti_ActivityKind, const char*> kRequiredKinds[] = {
    {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, "CONCURRENT_KERNEL"},
    {CUPTI_ACTIVITY_KIND_MEMCPY, "MEMCPY"},
    {CUPTI_ACTIVITY_KIND_MEMSET, "MEMSET"},
    {CUPTI_ACTIVITY_KIND_MEMORY2, "MEMORY2"},
};
// For op attribution only: external correlation records are emitted with API records.
constexpr CUpti_ActivityKind kCorrelationKinds[] = {
    CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
    CUPTI_ACTIVITY_KIND_RUNTIME,
    CUPTI_ACTIVITY_KIND_DRIVER,
};

std::string result_text(CUptiResult result) {
  const char* text = nullptr;
  if (cuptiGetResultString(result, &text) != CUPTI_SUCCESS || text == nullptr) {
    return fmt::format("CUPTI error {}", static_cast<int>(result));
  }
  return text;
}

GpuActivityStart unavailable(const std::string& why) {
  return {nullptr, "GPU activity profiling unavailable: " + why + "; continuing with CPU timings"};
}

void disable_kinds(const std::vector<CUpti_ActivityKind>& kinds) {
  for (CUpti_ActivityKind kind : kinds) cuptiActivityDisable(kind);
}

class CuptiActivity;
// The one collector that receives completed buffers (CUPTI's callbacks are process-wide).
std::mutex g_active_mutex;
CuptiActivity* g_active = nullptr;

class CuptiActivity final : public GpuActivity, public CorrelationHook {
 public:
  CuptiActivity(Profiler& profiler, int64_t clock_offset_ns,
                std::vector<CUpti_ActivityKind> enabled_kinds)
      : profiler_(profiler),
        assembler_(clock_offset_ns),
        enabled_kinds_(std::move(enabled_kinds)) {}

  ~CuptiActivity() override {
    profiler_.set_correlation_hook(nullptr);
    flush();
    disable_kinds(enabled_kinds_);
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    drain_into_profiler();
    std::lock_guard lock(g_active_mutex);
    g_active = nullptr;
  }

  void flush() override {
    // No lock held here: the flush may call buffer_completed on this thread.
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    drain_into_profiler();
  }

  int64_t allocated_bytes() const override {
    std::lock_guard lock(mutex_);
    return assembler_.allocated_bytes();
  }

  int64_t dropped_records() const override {
    std::lock_guard lock(mutex_);
    return assembler_.dropped();
  }

  void enter(uint64_t op_id, const char* name, int64_t step) override {
    {
      std::lock_guard lock(mutex_);
      assembler_.op_entered(op_id, name, step);
    }
    cuptiActivityPushExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, op_id);
  }

  void exit(uint64_t op_id) override {
    uint64_t popped = 0;
    cuptiActivityPopExternalCorrelationId(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &popped);
    std::lock_guard lock(mutex_);
    assembler_.op_exited(op_id);
  }

  // Called with g_active_mutex held (buffer_completed).
  void consume(CUcontext context, uint32_t stream, uint8_t* buffer, size_t valid_bytes) {
    std::lock_guard lock(mutex_);
    CUpti_Activity* record = nullptr;
    while (cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS) {
      assembler_.add_record(*record);
    }
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(context, stream, &dropped) == CUPTI_SUCCESS) {
      assembler_.add_dropped(static_cast<int64_t>(dropped));
    }
  }

 private:
  void drain_into_profiler() {
    cupti::ActivityAssembler::Output out;
    {
      std::lock_guard lock(mutex_);
      out = assembler_.drain(profiler_.step());
    }
    for (Span& span : out.spans) profiler_.add_span(std::move(span));
    for (Instant& instant : out.instants) profiler_.add_instant(std::move(instant));
    for (const Counter& c : out.counters) profiler_.counter(c.name, c.value, c.step, c.time_ns);
  }

  Profiler& profiler_;
  mutable std::mutex mutex_;
  cupti::ActivityAssembler assembler_;
  std::vector<CUpti_ActivityKind> enabled_kinds_;
};

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(kBufferAlign, kBufferBytes));
  *size = *buffer != nullptr ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream, uint8_t* buffer, size_t,
                               size_t valid_bytes) {
  {
    std::lock_guard lock(g_active_mutex);
    if (g_active != nullptr && buffer != nullptr) {
      g_active->consume(context, stream, buffer, valid_bytes);
    }
  }
  std::free(buffer);
}

}  // namespace

GpuActivityStart start_gpu_activity(Profiler& profiler) {
  static std::mutex start_mutex;  // two starts at once must not both pass the check below
  std::lock_guard start_lock(start_mutex);
  int devices = 0;
  const cudaError_t error = cudaGetDeviceCount(&devices);
  // Without a driver the count is left unchanged: the error is what tells.
  if (error != cudaSuccess) {
    return unavailable(fmt::format("no usable CUDA device (cudaGetDeviceCount: {})",
                                   cudaGetErrorString(error)));
  }
  if (devices <= 0) return unavailable("no CUDA device");
  {
    std::lock_guard lock(g_active_mutex);
    if (g_active != nullptr) return unavailable("another GPU activity collector is running");
  }

  CUptiResult result = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
  if (result != CUPTI_SUCCESS) {
    return unavailable("cuptiActivityRegisterCallbacks failed: " + result_text(result));
  }
  std::vector<CUpti_ActivityKind> enabled;
  for (const auto& [kind, name] : kRequiredKinds) {
    result = cuptiActivityEnable(kind);
    if (result != CUPTI_SUCCESS) {
      disable_kinds(enabled);
      const char* hint = result == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES
                             ? " (GPU profiling is restricted to administrators on this machine)"
                             : "";
      return unavailable(
          fmt::format("cuptiActivityEnable({}) failed: {}{}", name, result_text(result), hint));
    }
    enabled.push_back(kind);
  }
  for (CUpti_ActivityKind kind : kCorrelationKinds) {
    // Optional: without them GPU spans are simply not attributed to ops.
    if (cuptiActivityEnable(kind) == CUPTI_SUCCESS) enabled.push_back(kind);
  }

  const int64_t offset = calibrate_clock_offset([] {
    uint64_t timestamp = 0;
    cuptiGetTimestamp(&timestamp);
    return timestamp;
  });
  auto activity = std::make_unique<CuptiActivity>(profiler, offset, std::move(enabled));
  {
    std::lock_guard lock(g_active_mutex);
    g_active = activity.get();
  }
  profiler.set_correlation_hook(activity.get());
  return {std::move(activity), ""};
}

bool gpu_activity_built() { return true; }

std::optional<int64_t> gpu_memory_used_bytes() {
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return std::nullopt;
  return static_cast<int64_t>(total_bytes - free_bytes);
}

}  // namespace kvwb

#endif  // KVWB_HAVE_CUPTI
