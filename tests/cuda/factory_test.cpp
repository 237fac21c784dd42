// make_backend and cuda_available: these run on every machine, GPU or not.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cuda_test_util.h"
#include "kernels/cuda/cuda_device.h"

namespace kvwb::kernels {
namespace {

TEST(BackendFactory, CpuIsAlwaysThere) {
  auto backend = make_backend("cpu", 1);
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->name(), "cpu");
}

TEST(BackendFactory, UnknownNameIsAnErrorThatNamesIt) {
  try {
    make_backend("tpu", 1);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown backend 'tpu' (expected cpu or cuda)");
  }
}

TEST(BackendFactory, CudaEitherWorksOrSaysWhyNot) {
  std::string why;
  const bool available = cuda_available(&why);
  if (available) {
    auto backend = make_backend("cuda", 0);
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->name(), "cuda");
    return;
  }
  EXPECT_FALSE(why.empty());
  try {
    make_backend("cuda", 0);
    FAIL() << "make_backend(\"cuda\") succeeded although cuda_available() said: " << why;
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "no CUDA device: " + why);
  }
}

TEST(CudaProbe, AnswerIsStableAndConsistent) {
  const cuda::CudaDeviceInfo& first = cuda::probe_cuda_device(0);
  const cuda::CudaDeviceInfo& again = cuda::probe_cuda_device(0);
  EXPECT_EQ(&first, &again);  // cached
  if (first.usable) {
    EXPECT_TRUE(first.reason.empty());
    EXPECT_GE(first.cc_major, 8);
    EXPECT_GT(first.sm_count, 0);
    EXPECT_GT(first.total_memory, size_t{0});
  } else {
    EXPECT_FALSE(first.reason.empty());
  }
  std::string why;
  EXPECT_EQ(cuda_available(&why), first.usable);
}

TEST(CudaProbe, AMissingDeviceIsNotUsable) {
  const cuda::CudaDeviceInfo& info = cuda::probe_cuda_device(4096);
  EXPECT_FALSE(info.usable);
  EXPECT_FALSE(info.reason.empty());
}

}  // namespace
}  // namespace kvwb::kernels
