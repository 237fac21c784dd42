#pragma once
// Picks a backend by name, so the engine, the CLI and the GUI never need #ifdefs for CUDA:
//   make_backend("cpu", threads)   the CPU backend (always there), with `weights_cache_bytes` for
//                                  its weights cache (kernels/cpu/weights_cache.h)
//                                  and `matmul` mode (kernels/backend.h, MatmulMode)
//   make_backend("cuda", threads)  the CUDA backend on device 0; `threads` is ignored, and it has
//                                  exact matmul only: MatmulMode::fast throws
// Throws std::runtime_error: "kvwb was built without CUDA", "no CUDA device: <reason>" or
// "unknown backend '<name>' (expected cpu or cuda)".
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace kvwb::kernels {

std::unique_ptr<Backend> make_backend(const std::string& name, int threads = 0,
                                      size_t weights_cache_bytes = kDefaultWeightsCacheBytes,
                                      MatmulMode matmul = MatmulMode::exact);

// True when make_backend("cuda") would succeed; otherwise *why (if given) says why not,
// e.g. "kvwb was built without CUDA" or "cudaGetDeviceCount failed: cudaErrorInsufficientDriver ...".
bool cuda_available(std::string* why = nullptr);

}  // namespace kvwb::kernels
