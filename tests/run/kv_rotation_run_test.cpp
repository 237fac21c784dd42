// RunConfig kv_rotation reaches the cache for the block-quantized dtypes only (f32, f16 and bf16
// round each value on its own: a rotation would change nothing but add work), and it is fixed
// for a run like the dtype.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/error.h"
#include "run/run.h"

namespace kvwb {
namespace {

RunConfig config(const std::string& kv_dtype, const std::string& kv_rotation) {
  const std::string dir = ::testing::TempDir() + "/kvwb_kv_rotation_run";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/w.jsonl") << "{\"id\": \"a\", \"prompt\": \"the cat sat on the mat\", \"max_new_tokens\": 3}\n";
  RunConfig c;
  c.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama3-rope";  // head_dim 32
  c.workload = dir + "/w.jsonl";
  c.kv_pool_bytes = int64_t{1} << 20;
  c.threads = 1;
  c.kv_dtype = kv_dtype;
  c.kv_rotation = kv_rotation;
  return c;
}

TEST(KvRotationRun, OnlyBlockQuantizedRowsAreRotated) {
  for (const char* dtype : {"f32", "f16", "bf16", "q8_0", "q4_0"}) {
    const bool quantized = std::string(dtype) == "q8_0" || std::string(dtype) == "q4_0";
    kvwb::Run hadamard(config(dtype, "hadamard"));
    EXPECT_EQ(hadamard.engine().cache().shape().kv_rotated, quantized) << dtype;
    kvwb::Run none(config(dtype, "none"));
    EXPECT_FALSE(none.engine().cache().shape().kv_rotated) << dtype;
    hadamard.run_to_completion();  // and a rotated run runs
    EXPECT_EQ(hadamard.results().size(), 1u) << dtype;
  }
}

TEST(KvRotationRun, IsFixedForARun) {
  kvwb::Run run(config("q8_0", "hadamard"));
  try {
    run.update_config(config("q8_0", "none"));
    FAIL() << "changed kv_rotation during a run";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "kv_rotation: cannot change during a run (it takes effect when a new run starts)");
  }
  EXPECT_TRUE(run.engine().cache().shape().kv_rotated);
}

}  // namespace
}  // namespace kvwb
