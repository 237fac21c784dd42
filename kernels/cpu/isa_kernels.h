#pragma once
// The kernels compiled once per instruction set (isa_pass.h), declared in each ISA's namespace:
// cpu::isa_portable::matvec, cpu::isa_avx2::matvec, ... (isa_kernels.inc lists them once).
// The functions of the same names in cpu:: (cpu_ops.h, int8_dot.h, quant_dot.h,
// quant_fast.h, quant_matmul.h) run the active ISA's (isa.h; dispatch.cpp).
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/cpu/int8_dot.h"
#include "kernels/cpu/quant_dot.h"

namespace kvwb::kernels::cpu {

namespace isa_portable {
#include "kernels/cpu/isa_kernels.inc"
}  // namespace isa_portable
namespace isa_avx2 {
#include "kernels/cpu/isa_kernels.inc"
}  // namespace isa_avx2
namespace isa_avx512 {
#include "kernels/cpu/isa_kernels.inc"
}  // namespace isa_avx512

}  // namespace kvwb::kernels::cpu
