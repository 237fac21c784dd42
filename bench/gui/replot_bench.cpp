// Replot frame time of the live plots late in a long run, without the engine: the series hold
// `--history-minutes` of steps (decimated as in a real run), then for `--seconds` new steps
// arrive at `--steps-per-second` in 30 Hz batches (as controller snapshots bring them) while
// the plots' own 30 Hz timer replots. Prints the plots' FrameStats (the same numbers as
// `kvwb --frame-stats`). The live measurement with the engine running is `kvwb --frame-stats`;
// this one isolates the cost of a full hour of history. Results: docs/benchmarks.md.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

#include "ui/models/run_series.h"
#include "ui/widgets/time_plots.h"

namespace {

// One synthetic step at time t: smooth throughput, a batch that grows and shrinks, KV blocks
// that follow the batch (the shapes a real run draws; the values only need to vary).
kvwb::StepPoint step_at(int64_t i, double t) {
  kvwb::StepPoint p;
  p.t = t;
  p.step = i;
  p.generated_per_second = 500 + 100 * std::sin(t / 60);
  p.total_per_second = 2000 + 300 * std::cos(t / 45);
  p.running = 16 + i % 7;
  p.waiting = 100 - i % 100;
  p.blocks_used = 3000 + i % 500;
  p.blocks_total = 12800;
  p.kv_bytes_used = p.blocks_used * 4096;
  return p;
}

double option(int argc, char** argv, const std::string& name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return std::atof(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("QT_QPA_PLATFORM") == nullptr) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QApplication app(argc, argv);
  const double history_minutes = option(argc, argv, "--history-minutes", 60);
  const double live_seconds = option(argc, argv, "--seconds", 10);
  const double rate = option(argc, argv, "--steps-per-second", 30);

  kvwb::RunSeries series;
  int64_t step = 0;
  double t = 0;
  {
    kvwb::RunSnapshot s;
    for (; t < history_minutes * 60; t = static_cast<double>(++step) / rate) s.points.push_back(step_at(step, t));
    series.add(s);
  }
  for (int i = 0; t > 0 && i < 500; ++i) series.add_accuracy(t * i / 500, 0.5, 0.9);

  kvwb::TimePlots plots;
  plots.resize(1000, 760);  // the plots' share of the 1400 x 860 window
  plots.show();
  plots.set_series(&series);  // follows the whole run (the default time axis)
  plots.reset_frame_stats();

  QTimer feeder;
  QElapsedTimer clock;
  clock.start();
  const double start_t = t;
  QObject::connect(&feeder, &QTimer::timeout, [&] {
    const double now = start_t + static_cast<double>(clock.elapsed()) / 1000.0;
    kvwb::RunSnapshot s;
    for (; t <= now; t = static_cast<double>(++step) / rate) s.points.push_back(step_at(step, t));
    series.add(s);
    if (now - start_t >= live_seconds) QApplication::quit();
  });
  feeder.start(33);
  QApplication::exec();

  std::printf("history %.0f min at %.0f steps/s (%llu steps), %d points drawn per graph\n", history_minutes, rate,
              static_cast<unsigned long long>(series.running.raw_count()), plots.graph_points(kvwb::TimePlots::Batch, 0));
  std::printf("%s\n", plots.frame_stats().summary().c_str());
  return 0;
}
