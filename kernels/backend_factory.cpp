#include "kernels/backend_factory.h"

#include <stdexcept>

#if KVWB_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_device.h"
#endif

namespace kvwb::kernels {

bool cuda_available(std::string* why) {
#if KVWB_HAVE_CUDA
  const cuda::CudaDeviceInfo& info = cuda::probe_cuda_device(0);
  if (!info.usable && why != nullptr) *why = info.reason;
  return info.usable;
#else
  if (why != nullptr) *why = "kvwb was built without CUDA";
  return false;
#endif
}

std::unique_ptr<Backend> make_backend(const std::string& name, int threads, size_t weights_cache_bytes,
                                      MatmulMode matmul) {
  if (name == "cpu") return make_cpu_backend(threads, weights_cache_bytes, matmul);
  if (name == "cuda") {
    if (matmul == MatmulMode::fast) {
      throw std::runtime_error("matmul fast is CPU only: the CUDA backend multiplies exactly (use --matmul exact)");
    }
#if KVWB_HAVE_CUDA
    return cuda::make_cuda_backend(0);  // throws "no CUDA device: <reason>"
#else
    throw std::runtime_error("kvwb was built without CUDA");
#endif
  }
  throw std::runtime_error("unknown backend '" + name + "' (expected cpu or cuda)");
}

}  // namespace kvwb::kernels
