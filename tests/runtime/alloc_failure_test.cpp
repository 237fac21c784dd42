// Backend memory is owned: a run whose Nth backend allocation fails, for every N the run makes,
// ends in one Error naming what could not be allocated, leaks nothing and frees nothing twice
// (the FailingAllocBackend's own books; under ASan + UBSan in CI also the sanitizer's).
#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "engine/core/error.h"
#include "engine/runtime/backend_buffer.h"
#include "engine/runtime/engine.h"
#include "kernels/out_of_memory.h"
#include "tests/runtime/failing_alloc_backend.h"
#include "tests/runtime/fixtures.h"

namespace kvwb {
namespace {

using testing_support::FailingAllocBackend;
using testing_support::fixture_dir;

EngineOptions evicting_options() {
  EngineOptions o;
  o.num_blocks = 512;
  o.block_size = 4;
  o.prefill_chunk = 8;
  o.stop_at_eos = false;
  o.policy.name = "batch-max";  // the slot selector's buffers too
  o.policy.budget_tokens = 12;
  o.policy.sinks = 1;
  o.policy.protected_recent = 2;
  return o;
}

// Runs three requests to the end; returns the error, "" when the run finished.
std::string run_engine(const Model& model, kernels::Backend& backend) {
  try {
    Engine engine(model, backend, evicting_options());
    for (int i = 0; i < 3; ++i) {
      std::vector<int32_t> prompt;
      for (int t = 0; t < 20 + 7 * i; ++t) prompt.push_back(1 + (t * 31 + i * 17) % 300);
      engine.submit("r" + std::to_string(i), prompt, 6);
    }
    while (!engine.done()) engine.step();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(AllocationFailure, EveryFailingAllocationIsOneNamedErrorWithNoLeakAndNoDoubleFree) {
  const auto model = load_model(fixture_dir("llama-gqa4"));
  auto cpu = kernels::make_cpu_backend(1);
  FailingAllocBackend counting(*cpu, 0);
  ASSERT_EQ(run_engine(*model, counting), "");
  const int64_t total = counting.allocs();
  ASSERT_GT(total, 6) << "the KV pools, the forward's buffers and the selector's scratch";
  EXPECT_TRUE(counting.live().empty());
  for (int64_t n = 1; n <= total; ++n) {
    FailingAllocBackend failing(*cpu, n);
    const std::string error = run_engine(*model, failing);
    EXPECT_NE(error.find("cannot allocate"), std::string::npos) << "allocation " << n << ": '" << error << "'";
    EXPECT_NE(error.find("bytes on the cpu backend"), std::string::npos) << error;
    EXPECT_TRUE(failing.live().empty()) << "allocation " << n << " failed: " << failing.live().size() << " leaked";
    EXPECT_EQ(failing.bad_frees(), 0) << "allocation " << n << " failed";
  }
}

// A device backend out of memory throws kernels::OutOfMemory (CudaBackend::alloc on
// cudaErrorMemoryAllocation): a std::bad_alloc whose reason the buffer's one-line error keeps.
// The CUDA side of that mapping compiles here but has not run on a GPU (docs/reliability.md).
TEST(AllocationFailure, ADeviceOutOfMemoryKeepsItsReasonInTheBuffersOneLineError) {
  static_assert(std::is_base_of_v<std::bad_alloc, kernels::OutOfMemory>);
  const std::string reason =
      "alloc: cudaMalloc of 4096 bytes (81559 MiB on the device): CUDA error cudaErrorMemoryAllocation (out of memory)";
  auto cpu = kernels::make_cpu_backend(1);
  FailingAllocBackend failing(*cpu, 2, reason);
  {
    BackendBuffer pool(failing, "KV pool (keys)");
    pool.get<uint8_t>(100);  // the first alloc succeeds; growing past it fails
    try {
      pool.get<uint8_t>(4096);
      ADD_FAILURE() << "the second allocation did not fail";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "KV pool (keys): cannot allocate 4096 bytes on the cpu backend (" + reason + ")");
    }
    EXPECT_EQ(pool.bytes(), 0u) << "a failed growth leaves the buffer empty";
  }
  EXPECT_TRUE(failing.live().empty());
  EXPECT_EQ(failing.bad_frees(), 0);
}

}  // namespace
}  // namespace kvwb
