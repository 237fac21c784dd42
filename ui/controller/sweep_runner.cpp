#include "ui/controller/sweep_runner.h"

#include <exception>

#include <QMetaObject>
#include <QThread>

#include "run/sweep/sweep.h"
#include "profiler/clock.h"

namespace kvwb {
namespace {

struct Cancelled {};

}  // namespace

// Everything the worker does; it talks to the runner only through queued calls.
struct SweepRunner::Job {
  SweepRunner* runner;
  int generation;
  SweepRequest request;
  std::shared_ptr<ModelCache> models;
  std::shared_ptr<std::atomic<bool>> stop, cancel;

  template <typename F>
  void post(F f) const {
    SweepRunner* r = runner;
    const int g = generation;
    QMetaObject::invokeMethod(
        r, [r, g, f] { if (r->generation_ == g) f(r); }, Qt::QueuedConnection);
  }

  void operator()() const {
    try {
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
        if (cancel->load()) throw Cancelled{};  // abandons the point: its recording is cut off
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
    } catch (const Cancelled&) {
    } catch (const std::exception& e) {
      post([m = QString::fromStdString(e.what())](SweepRunner* r) { emit r->failed(m); });
    }
  }
};

SweepRunner::SweepRunner(std::shared_ptr<ModelCache> models, QObject* parent)
    : QObject(parent), models_(std::move(models)) {
  qRegisterMetaType<kvwb::SweepAnalysisPtr>();
}

SweepRunner::~SweepRunner() {
  cancel();
  if (thread_ != nullptr) {
    thread_->wait();
    delete thread_;
  }
}

void SweepRunner::stop() {
  if (stop_) stop_->store(true);
}

void SweepRunner::cancel() {
  if (cancel_) cancel_->store(true);
  if (stop_) stop_->store(true);
  ++generation_;  // whatever the old job still posts is dropped
}

bool SweepRunner::busy() const { return thread_ != nullptr && !thread_->isFinished(); }

void SweepRunner::start(const SweepRequest& request) {
  cancel();
  if (thread_ != nullptr) {
    thread_->wait();  // it stops at its next engine step
    delete thread_;
  }
  stop_ = std::make_shared<std::atomic<bool>>(false);
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  Job job{this, generation_, request, models_, stop_, cancel_};
  thread_ = QThread::create(job);
  thread_->setObjectName("kvwb-sweep");
  thread_->start();
}

}  // namespace kvwb
