#include "ui/models/steps_csv.h"

#include <fmt/format.h>

#include <fstream>

#include "engine/core/error.h"
#include "ui/controller/rate_window.h"
#include "ui/controller/run_snapshot.h"

namespace kvwb {

void write_steps_csv(const std::vector<StepStats>& steps, const std::string& path, double rate_window_seconds) {
  std::ofstream out(path);
  if (!out) fail(path, "cannot open for writing");
  out << kStepsCsvHeader << "\n";
  RateWindow generated(rate_window_seconds), total(rate_window_seconds);
  for (const StepStats& s : steps) {
    const StepPoint p = step_point(s, generated, total);
    out << fmt::format("{},{:.6f},{:.6f},{:.6f},{:.3f},{:.3f},{},{},{},{},{},{},{},{},{},{}\n", s.step, s.start_seconds,
                       s.wall_seconds, p.t, p.generated_per_second, p.total_per_second, s.batch_size, s.running,
                       s.waiting, s.prefill_tokens, s.decode_tokens, s.blocks_used, s.blocks_total, s.kv_bytes_used,
                       s.evicted_slots, s.preemptions);
  }
  out.flush();
  if (!out) fail(path, "write failed");
}

}  // namespace kvwb
