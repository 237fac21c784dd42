#pragma once
// Checks made before a long run starts, so that a typo in an output path fails in a second
// rather than after the run.
#include <string>

namespace kvwb::cli {

// Throws kvwb::Error "<path>: cannot be written: <reason>" unless `path` can be opened for
// writing. Leaves an existing file as it was and removes the probe file it had to create.
void check_writable(const std::string& path);

}  // namespace kvwb::cli
