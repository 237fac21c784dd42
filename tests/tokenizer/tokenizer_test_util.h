#pragma once
// Shared helpers of the tokenizer tests: fixture paths, goldens, scratch directories.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/json_file.h"

namespace kvwb::test {

inline std::string source_dir() {
  const char* env = std::getenv("KVWB_SOURCE_DIR");
  return env != nullptr ? env : KVWB_SOURCE_DIR;
}

inline std::string tokenizer_fixture(const std::string& name) {
  return source_dir() + "/tests/fixtures/tokenizers/" + name + "/tokenizer.json";
}

inline const Json& tokenizer_goldens() {
  static const Json goldens = read_json_file(source_dir() + "/tests/fixtures/tokenizers/goldens.json");
  return goldens;
}

// A fresh empty directory under the build tree, removed when the object dies. The process id
// keeps tests that ctest runs in parallel out of each other's way.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::path(KVWB_BINARY_DIR) / "test-scratch" /
              (name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace kvwb::test
