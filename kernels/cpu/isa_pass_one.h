// One pass of isa_pass.h over KVWB_ISA_FILE, for KVWB_ISA_LEVEL 0 (portable), 1 (avx2) or 2
// (avx512): sets the pass's namespace and feature macros, includes the AVX helpers (simd.h)
// where there are AVX features, then the kernel file. No include guard: once per pass.
#if KVWB_ISA_LEVEL == 0
#define KVWB_ISA_NS isa_portable
#elif KVWB_ISA_LEVEL == 1
#define KVWB_ISA_NS isa_avx2
#else
#define KVWB_ISA_NS isa_avx512
#endif
#define KVWB_CPU_AVX2 (KVWB_ISA_LEVEL >= 1)
#define KVWB_CPU_AVX512 (KVWB_ISA_LEVEL >= 2)

#if KVWB_CPU_AVX2
#include "kernels/cpu/simd.h"
#endif
#include KVWB_ISA_FILE

#undef KVWB_ISA_NS
#undef KVWB_CPU_AVX2
#undef KVWB_CPU_AVX512
#undef KVWB_ISA_LEVEL
