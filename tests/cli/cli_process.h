#pragma once
// Runs kvwb-cli as a user does: a real process, its exit code, stdout and stderr. ctest runs
// every test as its own process in parallel, so each file a test writes carries the test's
// name and pid.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace kvwb::cli_test {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string read_all(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

inline std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "/" + info->test_suite_name() + "_" + info->name() + "_" + std::to_string(::getpid()) +
         "_" + name;
}

inline Result cli(const std::string& args) {
  const std::string out = temp_path("out.txt"), err = temp_path("err.txt");
  const std::string cmd = std::string(KVWB_BINARY_DIR) + "/app/kvwb-cli " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_all(out), read_all(err)};
}

}  // namespace kvwb::cli_test
