#ifdef KVWB_HAVE_CUPTI

#include "profiler/cupti/activity_assembler.h"

#include <cxxabi.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "profiler/gpu_activity.h"

namespace kvwb::cupti {
namespace {

Track stream_track(uint32_t device, uint32_t stream) {
  return Track{Track::Kind::gpu_stream, device, stream};
}

std::string_view memory_kind_name(uint32_t kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE: return "pageable";
    case CUPTI_ACTIVITY_MEMORY_KIND_PINNED: return "pinned";
    case CUPTI_ACTIVITY_MEMORY_KIND_DEVICE: return "device";
    case CUPTI_ACTIVITY_MEMORY_KIND_ARRAY: return "array";
    case CUPTI_ACTIVITY_MEMORY_KIND_MANAGED: return "managed";
    case CUPTI_ACTIVITY_MEMORY_KIND_DEVICE_STATIC: return "device_static";
    case CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC: return "managed_static";
    default: return "unknown";
  }
}

}  // namespace

std::string_view memcpy_kind_name(uint8_t copy_kind) {
  switch (copy_kind) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD: return "HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH: return "DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOA: return "HtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOH: return "AtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOA: return "AtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOD: return "AtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOA: return "DtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD: return "DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH: return "HtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP: return "PtoP";
    default: return "unknown";
  }
}

std::string demangle(const char* symbol) {
  if (symbol == nullptr) return "kernel";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(symbol, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(symbol);
}

ActivityAssembler::ActivityAssembler(int64_t clock_offset_ns, size_t max_pending)
    : clock_offset_ns_(clock_offset_ns), max_pending_(max_pending) {}

void ActivityAssembler::op_entered(uint64_t op_id, std::string_view name, int64_t step) {
  ops_[op_id] = OpInfo{std::string(name), step, true};
}

void ActivityAssembler::op_exited(uint64_t op_id) {
  auto it = ops_.find(op_id);
  if (it != ops_.end()) it->second.open = false;
}

int64_t ActivityAssembler::to_span_clock(uint64_t device_ns) const {
  return static_cast<int64_t>(device_ns) + clock_offset_ns_;
}

bool ActivityAssembler::make_room() {
  if (pending_.size() < max_pending_) return true;
  ++dropped_;
  return false;
}

void ActivityAssembler::add_record(const CUpti_Activity& record) {
  switch (record.kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
      if (!make_room()) return;
      const auto& k = reinterpret_cast<const CUpti_ActivityKernel10&>(record);
      Pending p;
      p.correlation_id = k.correlationId;
      p.span = Span{demangle(k.name), Category::kernel, to_span_clock(k.start),
                    to_span_clock(k.end), stream_track(k.deviceId, k.streamId), -1, {}};
      p.span.args = {
          {"grid", fmt::format("{}x{}x{}", k.gridX, k.gridY, k.gridZ)},
          {"block", fmt::format("{}x{}x{}", k.blockX, k.blockY, k.blockZ)},
          {"registers_per_thread", int64_t{k.registersPerThread}},
          {"shared_memory_bytes", int64_t{k.staticSharedMemory} + k.dynamicSharedMemory},
          {"correlation_id", int64_t{k.correlationId}}};
      pending_.push_back(std::move(p));
      return;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
      if (!make_room()) return;
      const auto& m = reinterpret_cast<const CUpti_ActivityMemcpy6&>(record);
      Pending p;
      p.correlation_id = m.correlationId;
      p.span = Span{fmt::format("memcpy {}", memcpy_kind_name(m.copyKind)), Category::memcpy,
                    to_span_clock(m.start), to_span_clock(m.end),
                    stream_track(m.deviceId, m.streamId), -1, {}};
      p.span.args = {{"bytes", static_cast<int64_t>(m.bytes)},
                     {"correlation_id", int64_t{m.correlationId}}};
      pending_.push_back(std::move(p));
      return;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
      if (!make_room()) return;
      const auto& m = reinterpret_cast<const CUpti_ActivityMemset4&>(record);
      Pending p;
      p.correlation_id = m.correlationId;
      p.span = Span{"memset", Category::memset, to_span_clock(m.start), to_span_clock(m.end),
                    stream_track(m.deviceId, m.streamId), -1, {}};
      p.span.args = {{"bytes", static_cast<int64_t>(m.bytes)},
                     {"value", int64_t{m.value}},
                     {"correlation_id", int64_t{m.correlationId}}};
      pending_.push_back(std::move(p));
      return;
    }
    case CUPTI_ACTIVITY_KIND_MEMORY2: {
      const auto& m = reinterpret_cast<const CUpti_ActivityMemory4&>(record);
      const bool alloc = m.memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
      const bool release = m.memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
      if (!(alloc || release) || !make_room()) return;
      Pending p;
      p.is_memory = true;
      p.correlation_id = m.correlationId;
      const int64_t bytes = static_cast<int64_t>(m.bytes);
      if (m.memoryKind == CUPTI_ACTIVITY_MEMORY_KIND_DEVICE) {
        p.device_bytes_delta = alloc ? bytes : -bytes;
      }
      const int64_t t = to_span_clock(m.timestamp);
      p.span = Span{alloc ? "allocate" : "release", Category::memory, t, t,
                    stream_track(m.deviceId, m.streamId), -1, {}};
      p.span.args = {{"bytes", bytes},
                     {"address", static_cast<int64_t>(m.address)},
                     {"memory_kind", std::string(memory_kind_name(m.memoryKind))},
                     {"correlation_id", int64_t{m.correlationId}}};
      pending_.push_back(std::move(p));
      return;
    }
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
      const auto& e = reinterpret_cast<const CUpti_ActivityExternalCorrelation&>(record);
      if (e.externalKind == CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) {
        op_of_correlation_[e.correlationId] = e.externalId;
      }
      return;
    }
    default:
      return;
  }
}

ActivityAssembler::Output ActivityAssembler::drain(int64_t current_step) {
  // Memory records in time order, so the running total of device bytes is right.
  std::stable_sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
    return a.span.start_ns < b.span.start_ns;
  });
  Output out;
  for (Pending& p : pending_) {
    p.span.step = current_step;
    auto corr = op_of_correlation_.find(p.correlation_id);
    if (corr != op_of_correlation_.end()) {
      auto op = ops_.find(corr->second);
      if (op != ops_.end()) {
        p.span.step = op->second.step;
        p.span.args.push_back({"op", op->second.name});
      }
      p.span.args.push_back({"op_id", static_cast<int64_t>(corr->second)});
    }
    if (!p.is_memory) {
      out.spans.push_back(std::move(p.span));
      continue;
    }
    if (p.device_bytes_delta != 0) {
      allocated_bytes_ += p.device_bytes_delta;
      out.counters.push_back(Counter{kGpuAllocatedBytesCounter,
                                     static_cast<double>(allocated_bytes_), p.span.step,
                                     p.span.start_ns});
    }
    out.instants.push_back(Instant{std::move(p.span.name), Category::memory, p.span.start_ns,
                                   p.span.track, p.span.step, std::move(p.span.args)});
  }
  pending_.clear();
  op_of_correlation_.clear();
  std::erase_if(ops_, [](const auto& entry) { return !entry.second.open; });
  return out;
}

}  // namespace kvwb::cupti

#endif  // KVWB_HAVE_CUPTI
