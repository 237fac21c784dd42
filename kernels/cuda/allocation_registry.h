#pragma once
// Every allocation the CUDA backend hands out, by base address and size. Ops look their
// pointer arguments up here before launching, so a buffer that is too small (or not device
// memory at all) becomes a clear error instead of an out-of-bounds read on the GPU, and
// kernels learn how many pool slots exist (PagedKv carries no pool size).
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

namespace kvwb::kernels::cuda {

class AllocationRegistry {
 public:
  void add(const void* base, size_t bytes) { blocks_[key(base)] = bytes; }
  // Returns false when `base` is not the start of a registered allocation.
  bool remove(const void* base) { return blocks_.erase(key(base)) == 1; }

  // Bytes from p to the end of the allocation that contains it; nullopt if none does.
  std::optional<size_t> bytes_from(const void* p) const {
    const uintptr_t addr = key(p);
    auto it = blocks_.upper_bound(addr);
    if (it == blocks_.begin()) return std::nullopt;
    --it;
    if (addr >= it->first + it->second) return std::nullopt;
    return it->first + it->second - addr;
  }
  bool contains(const void* p) const { return bytes_from(p).has_value(); }
  size_t count() const { return blocks_.size(); }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [base, bytes] : blocks_) f(reinterpret_cast<void*>(base), bytes);
  }

 private:
  static uintptr_t key(const void* p) { return reinterpret_cast<uintptr_t>(p); }
  std::map<uintptr_t, size_t> blocks_;
};

}  // namespace kvwb::kernels::cuda
