#include "app/cli/output_path.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "engine/core/error.h"

namespace kvwb::cli {

void check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "cannot be written: it is a directory");
  const bool existed = fs::exists(path, ec);
  // Append mode: an existing file is neither truncated nor changed.
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) fail(path, "cannot be written: {}", std::strerror(errno));
  std::fclose(f);
  if (!existed) fs::remove(path, ec);
}

}  // namespace kvwb::cli
