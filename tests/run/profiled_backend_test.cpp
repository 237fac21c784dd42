// ProfiledBackend: every op is forwarded unchanged to the inner backend and recorded as one op
// span (fixed name, shape args) on the current profiler; with none bound nothing is recorded.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "kernels/profiled_backend.h"
#include "profiler/scoped_span.h"

namespace kvwb {
namespace {

int64_t int_arg(const Span& span, const char* key) {
  const ArgValue* v = span.arg(key);
  return v != nullptr && std::holds_alternative<int64_t>(*v) ? std::get<int64_t>(*v) : -1;
}

// A few ops on `backend`; returns what they computed (matmul output, then rmsnorm output).
std::vector<float> run_ops(kernels::Backend& backend) {
  const int64_t n = 2, rows = 3, cols = 4;
  std::vector<float> x = {1, 2, 3, 4, -1, 0.5f, 2, -3};
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * static_cast<float>(i) - 1.0f;
  float* dx = static_cast<float*>(backend.alloc(x.size() * sizeof(float)));
  float* dy = static_cast<float*>(backend.alloc(static_cast<size_t>(n * rows) * sizeof(float)));
  float* dn = static_cast<float*>(backend.alloc(x.size() * sizeof(float)));
  backend.copy_from_host(dx, x.data(), x.size() * sizeof(float));
  const kernels::Matrix wm = backend.upload(kernels::Matrix{kernels::DType::F32, rows, cols, w.data()});
  backend.matmul(dx, n, wm, nullptr, dy);
  const std::vector<float> ones(static_cast<size_t>(cols), 1.0f);
  backend.rmsnorm(dx, ones.data(), n, cols, 1e-5f, dn);
  std::vector<float> out(static_cast<size_t>(n * rows + n * cols));
  backend.copy_to_host(out.data(), dy, static_cast<size_t>(n * rows) * sizeof(float));
  backend.copy_to_host(out.data() + n * rows, dn, static_cast<size_t>(n * cols) * sizeof(float));
  backend.free(dx);
  backend.free(dy);
  backend.free(dn);
  return out;
}

TEST(ProfiledBackend, ForwardsEveryOpAndRecordsOneSpanPerOp) {
  auto inner = kernels::make_cpu_backend(1);
  const std::vector<float> expected = run_ops(*inner);

  kernels::ProfiledBackend profiled(*inner);
  EXPECT_EQ(profiled.name(), inner->name());
  Profiler profiler;
  std::vector<float> got;
  {
    CurrentProfiler bind(&profiler);
    got = run_ops(profiled);
  }
  EXPECT_EQ(got, expected);  // the same op on the same backend: bit-identical

  const Trace trace = profiler.take();
  std::map<std::string, int> count;
  for (const Span& s : trace.spans) {
    EXPECT_EQ(s.category, Category::op) << s.name;
    EXPECT_LE(s.start_ns, s.end_ns);
    ++count[s.name];
    if (s.name == "matmul") {
      EXPECT_EQ(int_arg(s, "n"), 2);
      EXPECT_EQ(int_arg(s, "rows"), 3);
      EXPECT_EQ(int_arg(s, "cols"), 4);
    }
    if (s.name == "rmsnorm") {
      EXPECT_EQ(int_arg(s, "n"), 2);
      EXPECT_EQ(int_arg(s, "dim"), 4);
    }
    if (s.name == "copy_from_host") {
      EXPECT_EQ(int_arg(s, "bytes"), 32);
    }
  }
  const std::map<std::string, int> want = {{"alloc", 3},  {"copy_from_host", 1}, {"upload", 1}, {"matmul", 1},
                                           {"rmsnorm", 1}, {"copy_to_host", 2},   {"free", 3}};
  EXPECT_EQ(count, want);
}

TEST(ProfiledBackend, RecordsNothingWithoutACurrentProfiler) {
  auto inner = kernels::make_cpu_backend(1);
  kernels::ProfiledBackend profiled(*inner);
  Profiler profiler;  // exists but is not bound to this thread
  EXPECT_EQ(run_ops(profiled), run_ops(*inner));
  EXPECT_TRUE(profiler.take().spans.empty());

  Profiler disabled(ProfilerOptions{.enabled = false});
  CurrentProfiler bind(&disabled);
  run_ops(profiled);
  EXPECT_TRUE(disabled.take().spans.empty());
}

TEST(ProfiledBackend, OpSpansNestInsideTheCallersSpan) {
  auto inner = kernels::make_cpu_backend(1);
  kernels::ProfiledBackend profiled(*inner);
  Profiler profiler;
  {
    CurrentProfiler bind(&profiler);
    ScopedSpan outer("outer", Category::step);
    run_ops(profiled);
  }
  const Trace trace = profiler.take();
  ASSERT_FALSE(trace.spans.empty());
  const Span& outer = trace.spans.front();  // sorted: the parent first
  ASSERT_EQ(outer.name, "outer");
  for (const Span& s : trace.spans) {
    EXPECT_EQ(s.track, outer.track);
    EXPECT_GE(s.start_ns, outer.start_ns);
    EXPECT_LE(s.end_ns, outer.end_ns);
  }
}

}  // namespace
}  // namespace kvwb
