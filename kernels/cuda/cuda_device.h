#pragma once
// Is there a CUDA device kvwb can run on, and if not, why not? The probe never throws: on a
// machine without a GPU (or without a driver) it returns usable = false with the reason, which
// callers show ("no CUDA device: cudaGetDeviceCount failed: cudaErrorInsufficientDriver ...").
#include <cstddef>
#include <string>

namespace kvwb::kernels::cuda {

struct CudaDeviceInfo {
  bool usable = false;
  std::string reason;        // why not, when !usable
  int device = 0;
  std::string name;          // "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  size_t total_memory = 0;   // bytes
  size_t max_shared_per_block = 0;  // opt-in dynamic shared memory limit, bytes
  double hbm_peak_gb_s = 0;  // from the memory clock and bus width; 0 when the driver does not say
};

// Probes `device` once per process (later calls return the cached answer). Creates the CUDA
// context of a usable device, so a broken driver or a busy exclusive-mode GPU is found here.
const CudaDeviceInfo& probe_cuda_device(int device = 0);

}  // namespace kvwb::kernels::cuda
