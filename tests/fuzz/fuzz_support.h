#pragma once
// What every fuzz target shares: a scratch directory of its own (parsers read files, so each
// input is written to one), the fixture paths, and the rule for errors: bad input may only end
// in kvwb::Error whose message names the file; any other exception escapes, terminates the
// process and is reported as a crash by the driver or libFuzzer.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace kvwb::fuzz {

inline std::string source_dir() { return KVWB_SOURCE_DIR; }

// /dev/shm when there is one (inputs are rewritten thousands of times a second), else TMPDIR.
// Removed when the process exits normally.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("kvwb_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// A subdirectory of the scratch directory (created once).
inline std::filesystem::path scratch_subdir(const std::string& name) {
  std::filesystem::path d = scratch_dir() / name;
  std::filesystem::create_directories(d);
  return d;
}

inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// An Error is the expected outcome of bad input, but it must say where the problem is: the
// message must name `file` (or, for a directory, a file inside it).
inline void check_error_names(const Error& e, const std::filesystem::path& file) {
  const std::string_view what = e.what();
  if (what.find(file.string()) == std::string_view::npos) {
    std::fprintf(stderr, "fuzz: error does not name %s: %s\n", file.c_str(), e.what());
    std::abort();
  }
}

// A property that holds for every input kvwb accepts (a round trip, a count): aborts with
// `what` when it does not.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: property broken: %s\n", what);
    std::abort();
  }
}

}  // namespace kvwb::fuzz
