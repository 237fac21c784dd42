#include "sessions/process_identity.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace kvwb {

std::optional<int64_t> process_start_ticks(int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // Field 2 (the command name) is in parentheses and may hold spaces: count fields after it.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  try {
    return std::stoll(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

ProcessIdentity current_process() {
  ProcessIdentity p;
  p.pid = static_cast<int64_t>(::getpid());
  p.start_ticks = process_start_ticks(p.pid).value_or(0);
  return p;
}

bool process_alive(const ProcessIdentity& process) {
  if (process.pid <= 0) return false;
  const std::optional<int64_t> start = process_start_ticks(process.pid);
  if (!start) return false;
  // A zombie (killed, not yet reaped) still has a stat file: check its state too.
  std::ifstream in("/proc/" + std::to_string(process.pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') return false;
  return *start == process.start_ticks;
}

}  // namespace kvwb
