#include "profiler/step_counters.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace kvwb {

RetainedTokens summarize_retained(std::span<const int32_t> lengths_per_head) {
  if (lengths_per_head.empty()) return {};
  const auto [lo, hi] = std::minmax_element(lengths_per_head.begin(), lengths_per_head.end());
  double sum = 0;
  for (int32_t length : lengths_per_head) sum += length;
  return RetainedTokens{static_cast<double>(*lo),
                        sum / static_cast<double>(lengths_per_head.size()),
                        static_cast<double>(*hi)};
}

void record_step_counters(Profiler& profiler, int64_t step, const StepCounters& c,
                          int64_t time_ns) {
  namespace n = counter_names;
  auto put = [&](const char* name, double value) { profiler.counter(name, value, step, time_ns); };
  put(n::batch_size, static_cast<double>(c.batch_size));
  put(n::running, static_cast<double>(c.running));
  put(n::waiting, static_cast<double>(c.waiting));
  put(n::tokens_per_second, c.tokens_per_second);
  put(n::kv_blocks_used, static_cast<double>(c.kv_blocks_used));
  put(n::kv_blocks_free, static_cast<double>(c.kv_blocks_free));
  put(n::kv_bytes, static_cast<double>(c.kv_bytes));
  put(n::evictions, static_cast<double>(c.evictions));
  put(n::preemptions, static_cast<double>(c.preemptions));
  if (c.retained) {
    put(n::retained_tokens_min, c.retained->min);
    put(n::retained_tokens_mean, c.retained->mean);
    put(n::retained_tokens_max, c.retained->max);
  }
  const std::optional<int64_t> rss = c.process_rss_bytes ? c.process_rss_bytes : process_rss_bytes();
  if (rss) put(n::process_rss_bytes, static_cast<double>(*rss));
  if (c.gpu_memory_used_bytes) {
    put(n::gpu_memory_used_bytes, static_cast<double>(*c.gpu_memory_used_bytes));
  }
}

std::optional<int64_t> process_rss_bytes() {
  // statm is "size resident shared text lib data dt", in pages; stdio avoids iostream cost.
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return std::nullopt;
  long long size_pages = 0, resident_pages = 0;
  const int fields = std::fscanf(file, "%lld %lld", &size_pages, &resident_pages);
  std::fclose(file);
  const long page = sysconf(_SC_PAGESIZE);
  if (fields != 2 || page <= 0) return std::nullopt;
  return static_cast<int64_t>(resident_pages) * page;
}

}  // namespace kvwb
