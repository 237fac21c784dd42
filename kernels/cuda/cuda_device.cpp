#include "kernels/cuda/cuda_device.h"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>

namespace kvwb::kernels::cuda {
namespace {

// The kernels are compiled for sm_80 and sm_90 (plus PTX for newer GPUs); older GPUs lack
// cp.async and bf16 tensor cores.
constexpr int kMinComputeMajor = 8;

std::string describe(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

CudaDeviceInfo probe_uncached(int device) {
  CudaDeviceInfo info;
  info.device = device;
  int count = 0;
  // Without a driver this returns an error and may leave `count` untouched: the status is
  // what tells, not the count.
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear it so later calls do not report it again
    info.reason = "cudaGetDeviceCount failed: " + describe(status);
    return info;
  }
  if (count <= 0) {
    info.reason = "no CUDA device is present";
    return info;
  }
  if (device < 0 || device >= count) {
    info.reason = "device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " present)";
    return info;
  }
  cudaDeviceProp prop{};
  if (const cudaError_t e = cudaGetDeviceProperties(&prop, device); e != cudaSuccess) {
    (void)cudaGetLastError();
    info.reason = "cudaGetDeviceProperties failed: " + describe(e);
    return info;
  }
  info.name = prop.name;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.sm_count = prop.multiProcessorCount;
  info.total_memory = prop.totalGlobalMem;
  info.max_shared_per_block = prop.sharedMemPerBlockOptin;
  int mem_clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess) {
    info.hbm_peak_gb_s = 2.0 * mem_clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;  // double data rate
  }
  (void)cudaGetLastError();
  if (prop.major < kMinComputeMajor) {
    info.reason = "device " + std::to_string(device) + " (" + info.name + ") has compute capability " +
                  std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                  "; kvwb's CUDA kernels need 8.0 or newer";
    return info;
  }
  // Touch the device: creating the context finds a missing or busy GPU now rather than in the
  // middle of a run.
  if (const cudaError_t e = cudaSetDevice(device); e != cudaSuccess) {
    (void)cudaGetLastError();
    info.reason = "cudaSetDevice failed: " + describe(e);
    return info;
  }
  if (const cudaError_t e = cudaFree(nullptr); e != cudaSuccess) {
    (void)cudaGetLastError();
    info.reason = "creating a CUDA context failed: " + describe(e);
    return info;
  }
  info.usable = true;
  return info;
}

}  // namespace

const CudaDeviceInfo& probe_cuda_device(int device) {
  static std::mutex mutex;
  static std::map<int, CudaDeviceInfo> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(device);
  if (it == cache.end()) it = cache.emplace(device, probe_uncached(device)).first;
  return it->second;
}

}  // namespace kvwb::kernels::cuda
