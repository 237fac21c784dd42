// Compiles the kernel file KVWB_ISA_FILE once per instruction set (isa.h), each pass in its own
// namespace (KVWB_ISA_NS: isa_portable, isa_avx2, isa_avx512) with KVWB_CPU_AVX2 and
// KVWB_CPU_AVX512 set for it. A kernel file reads:
//
//   #ifndef KVWB_ISA_PASS
//   #include <...>                  every header it needs, compiled for the baseline
//   #define KVWB_ISA_FILE "kernels/cpu/this_file.cpp"
//   #include "kernels/cpu/isa_pass.h"
//   #else
//   namespace kvwb::kernels::cpu::KVWB_ISA_NS { ... }   compiled three times
//   #endif
//
// The AVX passes are compiled under `#pragma GCC target` (function-level target attributes),
// not as translation units with their own -m flags: the headers (the standard library's
// templates, kernels/half.h) are included before the pragma and stay baseline code, whereas
// per-ISA translation units would each emit their own copy of every inline and template
// function, of which the linker keeps one at random: an AVX2 std::vector in the portable path.
// Calls between kernel files within a pass name the pass's namespace (KVWB_ISA_NS::f), because
// argument-dependent lookup would also find the dispatching cpu::f.
// No include guard: included once per kernel file, which it includes three times.
#define KVWB_ISA_PASS 1

#define KVWB_ISA_LEVEL 0
#include "kernels/cpu/isa_pass_one.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define KVWB_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define KVWB_ISA_BEGIN(features) KVWB_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define KVWB_ISA_END KVWB_PRAGMA(clang attribute pop)
#else
#define KVWB_ISA_BEGIN(features) KVWB_PRAGMA(GCC push_options) KVWB_PRAGMA(GCC target(features))
#define KVWB_ISA_END KVWB_PRAGMA(GCC pop_options)
#endif

// The features of each pass are those cpu_has (isa.cpp) checks before the pass may run.
KVWB_ISA_BEGIN("avx2,fma,f16c")
#define KVWB_ISA_LEVEL 1
#include "kernels/cpu/isa_pass_one.h"
KVWB_ISA_END

KVWB_ISA_BEGIN("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")
#define KVWB_ISA_LEVEL 2
#include "kernels/cpu/isa_pass_one.h"
KVWB_ISA_END

#undef KVWB_PRAGMA
#undef KVWB_ISA_BEGIN
#undef KVWB_ISA_END
#endif  // __x86_64__

#undef KVWB_ISA_PASS
#undef KVWB_ISA_FILE
