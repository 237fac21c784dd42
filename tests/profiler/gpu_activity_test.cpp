// GPU activity: the clock mapping by hand; starting without a GPU is never fatal and says why;
// the CUPTI record conversion on hand-made records (CUPTI builds, no GPU needed); and, on a GPU,
// real copies, memsets and allocations attributed to the op that issued them (skipped without).
#include <gtest/gtest.h>

#include <map>

#include "profiler/gpu_activity.h"
#include "profiler/gpu_clock.h"
#include "profiler/scoped_span.h"

#ifdef KVWB_HAVE_CUPTI
#include <cuda_runtime_api.h>

#include <cstring>

#include "profiler/cupti/activity_assembler.h"
#endif

namespace kvwb {
namespace {

TEST(GpuClock, OffsetFromTheNarrowestSampleMidpoint) {
  // Device clock = host clock − 5000 ns. The first sample's window is 400 ns wide (midpoint
  // 10'200), the second 100 ns (midpoint 20'050, device read 15'050 exactly there).
  const ClockSample samples[] = {{10'000, 5'300, 10'400}, {20'000, 15'050, 20'100}};
  EXPECT_EQ(clock_offset_ns(samples), 5'000);
  EXPECT_EQ(clock_offset_ns({}), 0);
}

TEST(GpuClock, CalibrationAgainstAShiftedCopyOfTheSpanClock) {
  // A "device" clock that is the span clock shifted back by 1 s: the offset must come out
  // within the width of one sampling window (a few µs; 1 ms allowed for a preempted read).
  const int64_t offset = calibrate_clock_offset([] {
    return static_cast<uint64_t>(now_ns() - 1'000'000'000);
  });
  EXPECT_NEAR(static_cast<double>(offset), 1e9, 1e6);
}

TEST(GpuActivity, StartWithoutAGpuIsNotFatalAndSaysWhy) {
  Profiler profiler;
  GpuActivityStart gpu = start_gpu_activity(profiler);
  if (gpu.activity) {
    EXPECT_TRUE(gpu.message.empty());
    EXPECT_TRUE(gpu_activity_built());
    GTEST_SKIP() << "a GPU is present: the no-GPU path cannot be exercised here";
  }
  EXPECT_NE(gpu.message.find("GPU activity profiling unavailable"), std::string::npos);
  EXPECT_NE(gpu.message.find("continuing with CPU timings"), std::string::npos);
  if (!gpu_activity_built()) {
    EXPECT_NE(gpu.message.find("without CUDA/CUPTI"), std::string::npos) << gpu.message;
  }
  EXPECT_EQ(profiler.correlation_hook(), nullptr);
  // CPU profiling goes on.
  { ScopedSpan s(&profiler, "op"); }
  EXPECT_EQ(profiler.take().spans.size(), 1u);
}

#ifdef KVWB_HAVE_CUPTI

// Hand-made CUPTI records, as a buffer would deliver them.
template <typename Record>
Record zeroed(CUpti_ActivityKind kind) {
  Record r;
  std::memset(&r, 0, sizeof r);
  r.kind = kind;
  return r;
}

const CUpti_Activity& as_activity(const auto& record) {
  return reinterpret_cast<const CUpti_Activity&>(record);
}

TEST(CuptiRecords, KernelsCopiesAndMemoryBecomeEventsAttributedToTheirOps) {
  cupti::ActivityAssembler assembler(/*clock_offset_ns=*/1'000);
  assembler.op_entered(5, "matmul", 3);

  auto kernel = zeroed<CUpti_ActivityKernel10>(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
  kernel.start = 10'000;
  kernel.end = 12'500;
  kernel.deviceId = 0;
  kernel.streamId = 7;
  kernel.correlationId = 41;
  kernel.gridX = 4, kernel.gridY = 2, kernel.gridZ = 1;
  kernel.blockX = 128, kernel.blockY = 1, kernel.blockZ = 1;
  kernel.name = "_Z6matmulPKfS0_Pf";
  auto copy = zeroed<CUpti_ActivityMemcpy6>(CUPTI_ACTIVITY_KIND_MEMCPY);
  copy.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_HTOD;
  copy.bytes = 4096;
  copy.start = 9'000;
  copy.end = 9'400;
  copy.streamId = 7;
  copy.correlationId = 40;
  auto set = zeroed<CUpti_ActivityMemset4>(CUPTI_ACTIVITY_KIND_MEMSET);
  set.bytes = 256;
  set.start = 13'000;
  set.end = 13'100;
  set.deviceId = 1;
  set.streamId = 2;
  set.correlationId = 99;  // launched outside any op
  auto alloc = zeroed<CUpti_ActivityMemory4>(CUPTI_ACTIVITY_KIND_MEMORY2);
  alloc.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
  alloc.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  alloc.bytes = 1 << 20;
  alloc.timestamp = 8'000;
  alloc.correlationId = 39;
  auto release = alloc;
  release.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
  release.bytes = 1 << 18;
  release.timestamp = 14'000;
  auto pinned = alloc;  // host memory: an instant, but not device bytes
  pinned.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_PINNED;
  pinned.timestamp = 8'500;

  // The kernel arrives before the correlation record that names its op (another buffer).
  assembler.add_record(as_activity(kernel));
  assembler.add_record(as_activity(copy));
  assembler.add_record(as_activity(set));
  assembler.add_record(as_activity(release));
  assembler.add_record(as_activity(alloc));
  assembler.add_record(as_activity(pinned));
  for (uint32_t correlation : {39u, 40u, 41u}) {
    auto external = zeroed<CUpti_ActivityExternalCorrelation>(
        CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION);
    external.externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;
    external.externalId = 5;
    external.correlationId = correlation;
    assembler.add_record(as_activity(external));
  }
  assembler.op_exited(5);

  const auto out = assembler.drain(/*current_step=*/4);
  ASSERT_EQ(out.spans.size(), 3u);
  std::map<std::string, const Span*> by_name;
  for (const Span& s : out.spans) by_name[s.name] = &s;

  const Span& k = *by_name.at("matmul(float const*, float const*, float*)");
  EXPECT_EQ(k.category, Category::kernel);
  EXPECT_EQ(k.start_ns, 11'000);  // + clock offset
  EXPECT_EQ(k.end_ns, 13'500);
  EXPECT_EQ(k.track, (Track{Track::Kind::gpu_stream, 0, 7}));
  EXPECT_EQ(k.step, 3);  // the op's step
  EXPECT_EQ(std::get<std::string>(*k.arg("op")), "matmul");
  EXPECT_EQ(std::get<int64_t>(*k.arg("op_id")), 5);
  EXPECT_EQ(std::get<std::string>(*k.arg("grid")), "4x2x1");
  EXPECT_EQ(std::get<std::string>(*k.arg("block")), "128x1x1");

  const Span& c = *by_name.at("memcpy HtoD");
  EXPECT_EQ(c.category, Category::memcpy);
  EXPECT_EQ(c.duration_ns(), 400);
  EXPECT_EQ(std::get<int64_t>(*c.arg("bytes")), 4096);
  EXPECT_EQ(std::get<std::string>(*c.arg("op")), "matmul");

  const Span& m = *by_name.at("memset");
  EXPECT_EQ(m.category, Category::memset);
  EXPECT_EQ(m.track, (Track{Track::Kind::gpu_stream, 1, 2}));
  EXPECT_EQ(m.step, 4);  // no op: the step current at drain
  EXPECT_EQ(m.arg("op"), nullptr);

  // Memory: instants in time order, device bytes as a running counter.
  ASSERT_EQ(out.instants.size(), 3u);
  EXPECT_EQ(out.instants[0].name, "allocate");
  EXPECT_EQ(out.instants[0].time_ns, 9'000);
  EXPECT_EQ(std::get<std::string>(out.instants[1].args[2].value), "pinned");
  EXPECT_EQ(out.instants[2].name, "release");
  ASSERT_EQ(out.counters.size(), 2u);
  EXPECT_EQ(out.counters[0].name, kGpuAllocatedBytesCounter);
  EXPECT_EQ(out.counters[0].value, 1 << 20);
  EXPECT_EQ(out.counters[1].value, (1 << 20) - (1 << 18));
  EXPECT_EQ(out.counters[1].time_ns, 15'000);
  EXPECT_EQ(assembler.allocated_bytes(), (1 << 20) - (1 << 18));

  // Everything was emitted once; the closed op and its correlations are forgotten.
  const auto again = assembler.drain(5);
  EXPECT_TRUE(again.spans.empty());
  EXPECT_TRUE(again.instants.empty());
}

TEST(CuptiRecords, PendingRecordsBeyondTheCapAreDropped) {
  cupti::ActivityAssembler assembler(0, /*max_pending=*/2);
  auto set = zeroed<CUpti_ActivityMemset4>(CUPTI_ACTIVITY_KIND_MEMSET);
  for (int i = 0; i < 5; ++i) assembler.add_record(as_activity(set));
  EXPECT_EQ(assembler.dropped(), 3);
  EXPECT_EQ(assembler.drain(0).spans.size(), 2u);
}

TEST(CuptiRecords, NamesOfCopyKindsAndSymbols) {
  EXPECT_EQ(cupti::memcpy_kind_name(CUPTI_ACTIVITY_MEMCPY_KIND_DTOH), "DtoH");
  EXPECT_EQ(cupti::memcpy_kind_name(200), "unknown");
  EXPECT_EQ(cupti::demangle("not_mangled"), "not_mangled");
  EXPECT_EQ(cupti::demangle(nullptr), "kernel");
}

// On a GPU: real runtime calls inside an op span come back as GPU events of that op.
TEST(CuptiGpu, CopiesMemsetsAndAllocationsAreAttributedToTheOp) {
  Profiler profiler;
  GpuActivityStart gpu = start_gpu_activity(profiler);
  if (!gpu.activity) GTEST_SKIP() << gpu.message;

  // A second collector cannot start while this one runs.
  GpuActivityStart second = start_gpu_activity(profiler);
  EXPECT_FALSE(second.activity);
  EXPECT_NE(second.message.find("another GPU activity collector"), std::string::npos);

  constexpr size_t kBytes = size_t{1} << 20;
  std::vector<char> host(kBytes, 3);
  void* device = nullptr;
  profiler.set_step(1);
  int64_t op_start = 0, op_end = 0;
  {
    ScopedSpan op(&profiler, "upload", Category::op);
    op_start = now_ns();
    ASSERT_EQ(cudaMalloc(&device, kBytes), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(device, host.data(), kBytes, cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaMemset(device, 0, kBytes), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    op_end = now_ns();
  }
  profiler.set_step(2);
  ASSERT_EQ(cudaFree(device), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  gpu.activity->flush();
  EXPECT_EQ(gpu.activity->allocated_bytes(), 0);  // allocated, then released
  gpu.activity.reset();
  EXPECT_EQ(profiler.correlation_hook(), nullptr);

  const Trace trace = profiler.take();
  const Span* copy = nullptr;
  const Span* set = nullptr;
  for (const Span& s : trace.spans) {
    if (s.category == Category::memcpy) copy = &s;
    if (s.category == Category::memset) set = &s;
  }
  ASSERT_NE(copy, nullptr);
  ASSERT_NE(set, nullptr);
  for (const Span* s : {copy, set}) {
    SCOPED_TRACE(s->name);
    EXPECT_EQ(s->track.kind, Track::Kind::gpu_stream);
    EXPECT_EQ(s->step, 1);
    ASSERT_NE(s->arg("op"), nullptr);
    EXPECT_EQ(std::get<std::string>(*s->arg("op")), "upload");
    // On the span clock, inside the op's CPU window (100 µs allowed for the clock mapping).
    EXPECT_GE(s->start_ns, op_start - 100'000);
    EXPECT_LE(s->end_ns, op_end + 100'000);
  }
  EXPECT_EQ(std::get<int64_t>(*copy->arg("bytes")), static_cast<int64_t>(kBytes));
  int allocations = 0, releases = 0;
  for (const Instant& i : trace.instants) {
    if (i.category != Category::memory) continue;
    allocations += i.name == "allocate";
    releases += i.name == "release";
  }
  EXPECT_GE(allocations, 1);
  EXPECT_GE(releases, 1);
}

#else

TEST(CuptiGpu, CopiesMemsetsAndAllocationsAreAttributedToTheOp) {
  GTEST_SKIP() << "built without CUDA/CUPTI (KVWB_HAVE_CUPTI undefined)";
}

#endif

}  // namespace
}  // namespace kvwb
