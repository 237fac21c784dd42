#pragma once
// Turns CUPTI activity records into profiler events (built with KVWB_HAVE_CUPTI only).
// Pure bookkeeping, no CUPTI calls: tests feed it hand-made records without a GPU.
//
// Records arrive in any order across buffers (a kernel's record may come before the external
// correlation record that names its op), so add_record() only collects them; drain() resolves
// op attribution once a flush has delivered everything, and emits the events.
#ifdef KVWB_HAVE_CUPTI

#include <cupti_activity.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "profiler/event.h"

namespace kvwb::cupti {

class ActivityAssembler {
 public:
  // `clock_offset_ns` is added to CUPTI timestamps (gpu_clock.h). At most `max_pending`
  // records wait for drain(); more are counted dropped.
  explicit ActivityAssembler(int64_t clock_offset_ns, size_t max_pending = size_t{1} << 20);

  // An op span opened / closed on a launching thread (its id is the external correlation id).
  void op_entered(uint64_t op_id, std::string_view name, int64_t step);
  void op_exited(uint64_t op_id);

  // One record from a completed CUPTI buffer. Kinds other than CONCURRENT_KERNEL, KERNEL,
  // MEMCPY, MEMSET, MEMORY2 and EXTERNAL_CORRELATION (CUSTOM0) are ignored.
  void add_record(const CUpti_Activity& record);
  void add_dropped(int64_t records) { dropped_ += records; }

  struct Output {
    std::vector<Span> spans;
    std::vector<Instant> instants;  // allocations and releases
    std::vector<Counter> counters;  // gpu_allocated_bytes after each device allocation/release
  };
  // Emits everything collected so far. GPU work outside any op gets `current_step`. Forgets
  // correlations and closed ops afterwards (flush only after the device synchronized).
  Output drain(int64_t current_step);

  int64_t allocated_bytes() const { return allocated_bytes_; }
  int64_t dropped() const { return dropped_; }

 private:
  struct Pending {
    Span span;  // or, for memory records, instant fields in span (name, start, track, args)
    uint32_t correlation_id = 0;
    bool is_memory = false;
    int64_t device_bytes_delta = 0;  // memory records: + allocated, − released device bytes
  };
  struct OpInfo {
    std::string name;
    int64_t step = -1;
    bool open = true;
  };

  bool make_room();
  int64_t to_span_clock(uint64_t device_ns) const;

  int64_t clock_offset_ns_;
  size_t max_pending_;
  std::vector<Pending> pending_;
  std::unordered_map<uint32_t, uint64_t> op_of_correlation_;
  std::unordered_map<uint64_t, OpInfo> ops_;
  int64_t allocated_bytes_ = 0;
  int64_t dropped_ = 0;
};

// "HtoD", "DtoH", ... for CUpti_ActivityMemcpyKind values.
std::string_view memcpy_kind_name(uint8_t copy_kind);
// The demangled form of a kernel's symbol (as is when it does not demangle).
std::string demangle(const char* symbol);

}  // namespace kvwb::cupti

#endif  // KVWB_HAVE_CUPTI
