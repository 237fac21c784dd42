#include "app/cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

#include "profiler/clock.h"

namespace kvwb::cli {
ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) != 0), start_(now_seconds()) {}

void ProgressBar::update(int64_t done, int64_t total, const std::string& detail) {
  if (total <= 0) return;
  const double elapsed = now_seconds() - start_;
  const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
  if (tty_) {
    const int width = 30;
    const int filled = static_cast<int>(width * done / total);
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld  %.0fs elapsed, ETA %.0fs  %s\033[K", label_.c_str(),
                 std::string(static_cast<size_t>(filled), '#').c_str(), std::string(static_cast<size_t>(width - filled), '.').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), elapsed, eta, detail.c_str());
    std::fflush(stderr);
    return;
  }
  const int64_t decile = done * 10 / total;
  if (decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s %lld/%lld (%lld%%) %.0fs elapsed, ETA %.0fs %s\n", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), static_cast<long long>(decile * 10), elapsed, eta, detail.c_str());
  }
}

void ProgressBar::finish() {
  if (tty_) std::fputs("\n", stderr);
}

}  // namespace kvwb::cli
