#pragma once
// A session's steps as CSV, one row per step with the values the time plots draw (the rates
// averaged over the same trailing window as the live plots) and the step's own counts, for
// spreadsheets and notebooks. Throws kvwb::Error "<path>: <problem>" when it cannot write.
#include <string>
#include <vector>

#include "engine/runtime/step_stats.h"

namespace kvwb {

inline constexpr const char* kStepsCsvHeader =
    "step,start_s,wall_s,end_s,generated_tok_per_s,total_tok_per_s,batch,running,waiting,prefill_tokens,"
    "decode_tokens,blocks_used,blocks_total,kv_bytes_used,evicted_slots,preemptions";

void write_steps_csv(const std::vector<StepStats>& steps, const std::string& path, double rate_window_seconds = 1.0);

}  // namespace kvwb
