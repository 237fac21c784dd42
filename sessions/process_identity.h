#pragma once
// Who is recording a session: the process id plus the process's start time (clock ticks since
// boot, /proc/<pid>/stat field 22), so that a reused pid is not mistaken for the recorder.
// A session whose recorder is no longer alive is reported as interrupted.
#include <cstdint>
#include <optional>

namespace kvwb {

struct ProcessIdentity {
  int64_t pid = 0;
  int64_t start_ticks = 0;
};

ProcessIdentity current_process();

// Start time of process `pid`, or nullopt when it does not exist (or /proc is unreadable).
std::optional<int64_t> process_start_ticks(int64_t pid);

bool process_alive(const ProcessIdentity& process);

}  // namespace kvwb
