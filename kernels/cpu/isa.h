#pragma once
// The instruction sets the CPU kernels are compiled for, and the one they run with. Every
// vectorised kernel is compiled once per instruction set in the same build (isa_pass.h), and
// the CPU backend picks one at run time from the CPU the binary runs on, so one build runs
// correctly, and fast, on any x86-64:
//   portable  plain C++ for the x86-64 baseline (SSE2)
//   avx2      AVX2 + FMA + F16C (Haswell, Zen 1 and later)
//   avx512    avx2 plus AVX-512 F/BW/DQ/VL and VNNI (Ice Lake, Sapphire Rapids, Zen 4 and later)
// KVWB_CPU_ISA=portable|avx2|avx512 forces one (tests and CI run each the machine has).
#include <string>
#include <string_view>
#include <vector>

namespace kvwb::kernels::cpu {

enum class Isa : unsigned char { Portable, Avx2, Avx512 };

std::string_view isa_name(Isa isa);
// Whether this CPU can run `isa`; when not and `missing` is given, it names a missing feature.
bool cpu_has(Isa isa, std::string* missing = nullptr);
// The instruction sets this CPU can run, portable first.
std::vector<Isa> available_isas();
// A KVWB_CPU_ISA value: the ISA it names, which this CPU must have. Throws std::runtime_error
// with a one-line message naming KVWB_CPU_ISA and the value otherwise.
Isa parse_isa(std::string_view value);

// The ISA the kernels run with: KVWB_CPU_ISA when set, else the best this CPU has. Decided on
// the first call (make_cpu_backend makes it, so a bad value fails there, before any op); the
// error repeats on every call while the value is bad.
Isa active_isa();
// Makes every kernel run with `isa` from now on (tests); throws if this CPU lacks it.
void set_active_isa(Isa isa);

}  // namespace kvwb::kernels::cpu
