#pragma once
// ScopedSpan: times a scope on the calling thread and records it as one span.
//
//   ScopedSpan span(&profiler, "matmul", Category::op);   // explicit profiler
//   ScopedSpan span("matmul");                             // the thread's current profiler
//   span.arg("n", n).arg("cols", w.cols);                  // optional, up to kMaxSpanArgs
//
// With no profiler (null) or a disabled one, construction and destruction cost one branch each.
// Otherwise: two clock reads and one append to the thread's buffer. `name` and arg keys must
// be string literals (or outlive the Profiler): they are stored as pointers.
//
// An op span (Category::op) also tells an installed GPU collector which op is launching work, so
// kernels get the op's name and id (arg "op_id", on the CPU span and on its GPU spans).
#include <cstdint>

#include "profiler/clock.h"
#include "profiler/profiler.h"

namespace kvwb {

class ScopedSpan {
 public:
  ScopedSpan(Profiler* profiler, const char* name, Category category = Category::op) noexcept {
    if (profiler == nullptr || !profiler->enabled()) {
      profiler_ = nullptr;
      return;
    }
    begin(profiler, name, category);
  }
  explicit ScopedSpan(const char* name, Category category = Category::op) noexcept
      : ScopedSpan(Profiler::current(), name, category) {}

  ~ScopedSpan() {
    if (profiler_ == nullptr) return;
    end();
  }

  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

  // Attaches a number (bytes, a dimension). Beyond kMaxSpanArgs args, further ones are ignored.
  ScopedSpan& arg(const char* key, int64_t value) noexcept {
    if (profiler_ != nullptr && record_.num_args < kMaxSpanArgs) {
      record_.args[record_.num_args++] = SpanRecord::RawArg{key, value};
    }
    return *this;
  }

  bool active() const noexcept { return profiler_ != nullptr; }

 private:
  void begin(Profiler* profiler, const char* name, Category category) noexcept {
    profiler_ = profiler;
    record_.name = name;
    record_.category = category;
    record_.num_args = 0;
    record_.step = profiler->step();
    if (category == Category::op) {
      if (CorrelationHook* hook = profiler->correlation_hook()) {
        op_id_ = profiler->next_op_id();
        record_.args[record_.num_args++] = SpanRecord::RawArg{"op_id", static_cast<int64_t>(op_id_)};
        hook->enter(op_id_, name, record_.step);
        hook_ = hook;
      }
    }
    record_.start_ns = now_ns();
  }

  void end() noexcept {
    record_.end_ns = now_ns();
    if (hook_ != nullptr) hook_->exit(op_id_);
    try {
      profiler_->record_span(record_);
    } catch (...) {
      // Out of memory while growing a buffer: losing one span beats terminating the run.
    }
  }

  Profiler* profiler_;
  CorrelationHook* hook_ = nullptr;
  uint64_t op_id_ = 0;
  SpanRecord record_;  // filled only when active
};

}  // namespace kvwb
