#pragma once
// Runs test code on one instruction set of the CPU kernels (kernels/cpu/isa.h).
#include "kernels/cpu/isa.h"

namespace kvwb::kernels::test {

// Makes `isa` the active instruction set while the object lives (the CPU must have it).
class ScopedIsa {
 public:
  explicit ScopedIsa(cpu::Isa isa) : previous_(cpu::active_isa()) { cpu::set_active_isa(isa); }
  ~ScopedIsa() { cpu::set_active_isa(previous_); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  cpu::Isa previous_;
};

}  // namespace kvwb::kernels::test
