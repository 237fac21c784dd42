#pragma once
// A progress line on stderr: redrawn in place on a terminal, every 10 % otherwise (CI logs).
#include <cstdint>
#include <string>

namespace kvwb::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void update(int64_t done, int64_t total, const std::string& detail = "");
  void finish();

 private:
  std::string label_;
  bool tty_;
  int64_t last_decile_ = -1;
  double start_;
};

}  // namespace kvwb::cli
