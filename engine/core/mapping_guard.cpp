#include "engine/core/mapping_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace kvwb::mapping_guard {
namespace {

// A fixed table the signal handler can read without locks or allocation. A slot is published
// by storing `end` last (release) and retired by clearing `end` first.
constexpr int kSlots = 512;
constexpr size_t kPathBytes = 512;

struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};  // 0 = free
  std::atomic<bool> damaged{false};
  std::atomic<bool> reported{false};
  char path[kPathBytes] = {};
};

Slot g_slots[kSlots];
std::mutex g_mutex;  // add/remove only; never taken in the handler
struct sigaction g_previous {};

void write_stderr(const char* text) { (void)!::write(2, text, std::strlen(text)); }

void forward_to_previous(int sig, siginfo_t* info, void* context) {
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
  } else {
    // Default action: restore it; returning re-runs the faulting access, which now kills.
    ::signal(sig, SIG_DFL);
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (info->si_code == BUS_ADRERR) {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    for (Slot& s : g_slots) {
      const uintptr_t end = s.end.load(std::memory_order_acquire);
      const uintptr_t begin = s.begin.load(std::memory_order_relaxed);
      if (end == 0 || addr < begin || addr >= end) continue;
      // Zero pages from the faulting page to the end of the mapping: everything past the new
      // end of the file is gone, and pages before it still hold the file's bytes.
      const uintptr_t from = addr & ~(page - 1);
      const uintptr_t to = (end + page - 1) & ~(page - 1);
      void* p = ::mmap(reinterpret_cast<void*>(from), to - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                       -1, 0);
      if (p == MAP_FAILED) break;
      s.damaged.store(true, std::memory_order_release);
      if (!s.reported.exchange(true)) {
        write_stderr("kvwb: ");
        write_stderr(s.path);
        write_stderr(": the file shrank while memory-mapped (truncated by another process); "
                     "its lost bytes read as zeros until the run stops\n");
      }
      return;
    }
  }
  forward_to_previous(sig, info, context);
}

// The live slot of the mapping that starts at `begin`, or null.
Slot* find(const void* begin) {
  for (Slot& s : g_slots) {
    if (s.end.load(std::memory_order_acquire) != 0 &&
        s.begin.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(begin)) {
      return &s;
    }
  }
  return nullptr;
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace

void add(const void* begin, size_t size, const std::string& path) {
  if (begin == nullptr || size == 0) return;
  install_once();
  std::lock_guard<std::mutex> lock(g_mutex);
  for (Slot& s : g_slots) {
    if (s.end.load(std::memory_order_relaxed) != 0) continue;
    const size_t n = std::min(path.size(), kPathBytes - 1);
    std::memcpy(s.path, path.data(), n);
    s.path[n] = '\0';
    s.damaged.store(false);
    s.reported.store(false);
    s.begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_relaxed);
    s.end.store(reinterpret_cast<uintptr_t>(begin) + size, std::memory_order_release);
    return;
  }
}

void remove(const void* begin) {
  if (begin == nullptr) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (Slot* s = find(begin)) s->end.store(0, std::memory_order_release);
}

bool damaged(const void* begin) {
  const Slot* s = find(begin);
  return s != nullptr && s->damaged.load(std::memory_order_acquire);
}

}  // namespace kvwb::mapping_guard
