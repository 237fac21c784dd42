// Workload JSONL: strict loading (the first bad line is an error naming file and line) and
// loading with skip_bad_lines (every non-blank line is either a request or a skipped line).
#include <filesystem>
#include <set>
#include <string>

#include "engine/workload/workload.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace kvwb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path file = fuzz::scratch_dir() / "workload.jsonl";
  fuzz::write_file(file, data, size);
  bool strict_ok = false;
  size_t strict_requests = 0;
  try {
    strict_requests = load_workload(file.string()).requests.size();
    strict_ok = true;
  } catch (const Error& e) {
    fuzz::check_error_names(e, file);
  }
  try {
    const Workload w = load_workload(file.string(), true);
    std::set<std::string> ids;
    for (const Request& r : w.requests) {
      fuzz::require(ids.insert(r.id).second, "request ids are unique");
      fuzz::require(r.line >= 1, "requests know their line");
    }
    if (strict_ok) fuzz::require(w.skipped.empty() && w.requests.size() == strict_requests, "lenient = strict on good files");
    else fuzz::require(!w.skipped.empty(), "a file strict loading rejects has a skipped line");
  } catch (const Error& e) {
    fuzz::check_error_names(e, file);  // unreadable file
  }
  return 0;
}
