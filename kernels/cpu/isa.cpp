#include "kernels/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace kvwb::kernels::cpu {
namespace {

constexpr Isa kAll[] = {Isa::Portable, Isa::Avx2, Isa::Avx512};

// -1 until decided, then the Isa's value.
std::atomic<int> g_active{-1};

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    default: return "portable";
  }
}

bool cpu_has(Isa isa, std::string* missing) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  struct Feature {
    const char* name;
    bool present;
  };
  // The features each pass's target pragma enables (isa_pass.h), and nothing else.
  const Feature avx2[] = {{"avx2", __builtin_cpu_supports("avx2") != 0},
                          {"fma", __builtin_cpu_supports("fma") != 0},
                          {"f16c", __builtin_cpu_supports("f16c") != 0}};
  const Feature avx512[] = {{"avx512f", __builtin_cpu_supports("avx512f") != 0},
                            {"avx512bw", __builtin_cpu_supports("avx512bw") != 0},
                            {"avx512dq", __builtin_cpu_supports("avx512dq") != 0},
                            {"avx512vl", __builtin_cpu_supports("avx512vl") != 0},
                            {"avx512vnni", __builtin_cpu_supports("avx512vnni") != 0}};
  auto all = [&](const auto& features) {
    for (const Feature& f : features) {
      if (!f.present) {
        if (missing != nullptr) *missing = f.name;
        return false;
      }
    }
    return true;
  };
  if (isa == Isa::Portable) return true;
  if (!all(avx2)) return false;
  return isa == Isa::Avx2 || all(avx512);
#else
  if (isa != Isa::Portable && missing != nullptr) *missing = "x86-64";
  return isa == Isa::Portable;
#endif
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAll) {
    if (cpu_has(isa)) out.push_back(isa);
  }
  return out;
}

Isa parse_isa(std::string_view value) {
  for (Isa isa : kAll) {
    if (value != isa_name(isa)) continue;
    std::string missing;
    if (!cpu_has(isa, &missing)) {
      throw std::runtime_error("KVWB_CPU_ISA=" + std::string(value) + ": this CPU lacks " + missing);
    }
    return isa;
  }
  throw std::runtime_error("KVWB_CPU_ISA: unknown value '" + std::string(value) + "' (expected portable, avx2 or avx512)");
}

Isa active_isa() {
  const int decided = g_active.load(std::memory_order_relaxed);
  if (decided >= 0) return static_cast<Isa>(decided);
  const char* forced = std::getenv("KVWB_CPU_ISA");
  const Isa isa = forced != nullptr && *forced != '\0' ? parse_isa(forced) : available_isas().back();
  g_active.store(static_cast<int>(isa), std::memory_order_relaxed);
  return isa;
}

void set_active_isa(Isa isa) {
  std::string missing;
  if (!cpu_has(isa, &missing)) {
    throw std::runtime_error("instruction set " + std::string(isa_name(isa)) + " needs " + missing + ", which this CPU lacks");
  }
  g_active.store(static_cast<int>(isa), std::memory_order_relaxed);
}

}  // namespace kvwb::kernels::cpu
