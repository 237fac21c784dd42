#include "ui/controller/sweep_runner.h"

#include "run/sweep/sweep.h"
#include "profiler/clock.h"

namespace kvwb {

// Everything the worker does; it talks to the runner only through queued calls.
struct SweepRunner::Job {
  SweepRunner* runner;
  WorkerJob job;
  SweepRequest request;
  std::shared_ptr<ModelCache> models;
  std::shared_ptr<std::atomic<bool>> stop;

  template <typename F>
  void post(F f) const {
    job.post([r = runner, f] { f(r); });
  }

  void run() const {
    SweepOptions options;
    options.db_path = request.db_path;
    options.min_accuracy = request.min_accuracy;
    Sweep sweep(request.base, request.grid, options, models->get(request.base.model));
    const int points = static_cast<int>(sweep.points().size());
    double last_progress = 0;
    SweepCallbacks callbacks;
    callbacks.point_started = [&](size_t i, const SweepPoint& p, bool reused) {
      post([i, points, label = QString::fromStdString(p.label), reused](SweepRunner* r) {
        emit r->pointStarted(static_cast<int>(i), points, label, reused);
      });
    };
    callbacks.progress = [&](int64_t done, int64_t total) {
      job.throw_if_cancelled();  // abandons the point: its recording is cut off
      const double now = now_seconds();
      if (now - last_progress < 1.0 / 20) return;
      last_progress = now;
      post([done, total](SweepRunner* r) { emit r->progress(done, total); });
    };
    callbacks.point_finished = [&](size_t, const SweepAnalysis& a) {
      post([a = std::make_shared<const SweepAnalysis>(a)](SweepRunner* r) { emit r->pointFinished(a); });
    };
    auto analysis = std::make_shared<const SweepAnalysis>(sweep.run(callbacks, stop.get()));
    post([analysis](SweepRunner* r) { emit r->finished(analysis); });
  }
};

SweepRunner::SweepRunner(std::shared_ptr<ModelCache> models, QObject* parent)
    : QObject(parent), models_(std::move(models)) {
  qRegisterMetaType<kvwb::SweepAnalysisPtr>();
}

void SweepRunner::stop() {
  if (stop_) stop_->store(true);
}

void SweepRunner::cancel() { worker_.cancel(); }

bool SweepRunner::busy() const { return worker_.busy(); }

void SweepRunner::start(const SweepRequest& request) {
  stop_ = std::make_shared<std::atomic<bool>>(false);
  // Cancelling a sweep also stops it before its next point.
  worker_.start([this, request, models = models_, stop = stop_](const WorkerJob& job) {
        Job{this, job, request, models, stop}.run();
      },
      [this](const QString& m) { emit failed(m); }, [stop = stop_] { stop->store(true); });
}

}  // namespace kvwb
