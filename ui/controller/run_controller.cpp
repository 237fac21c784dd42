#include "ui/controller/run_controller.h"

#include <algorithm>
#include <utility>

#include <QMetaObject>
#include <QThread>

namespace kvwb {

RunController::RunController(QObject* parent, RunLoopOptions options, std::shared_ptr<ModelCache> models)
    : QObject(parent), options_(options), models_(models ? std::move(models) : std::make_shared<ModelCache>()) {
  qRegisterMetaType<kvwb::RunSnapshot>();
  qRegisterMetaType<kvwb::RunState>();
}

RunController::~RunController() {
  for (Worker& w : workers_) w.loop->stop();
  for (Worker& w : workers_) {
    w.thread->wait();
    delete w.thread;
  }
}

RunConfig RunController::reference_config(const RunConfig& config) {
  RunConfig c = config;
  c.policy = PolicyConfig{};  // full KV, default knobs
  c.record.clear();
  return c;
}

void RunController::start(const RunConfig& config) {
  start_lane(main_, false, config);
}

void RunController::pause() {
  if (main_.loop) main_.loop->pause();
}

void RunController::resume() {
  if (main_.loop) main_.loop->resume();
}

void RunController::stop() {
  if (main_.loop) main_.loop->stop();
}

void RunController::update_config(const RunConfig& config) {
  if (main_.loop && run_state_active(main_.state)) main_.loop->update_config(config);
}

void RunController::start_reference() {
  start_lane(reference_, true, reference_config(main_.config));
}

void RunController::stop_reference() {
  if (reference_.loop) reference_.loop->stop();
}

void RunController::start_lane(Lane& lane, bool reference, const RunConfig& config) {
  forget_finished_workers();
  if (lane.loop) lane.loop->stop();  // its thread ends after the current step
  const int generation = ++next_generation_;
  lane.generation = generation;
  lane.config = config;
  lane.state = RunState::Loading;

  // The callbacks run on the worker; each posts a call to this object on the GUI thread, which
  // Qt drops if this object is gone (the destructor joins the workers first anyway).
  auto post = [this, reference, generation](auto deliver) {
    QMetaObject::invokeMethod(
        this,
        [this, reference, generation, deliver] {
          Lane& l = reference ? reference_ : main_;
          if (l.generation == generation) deliver(l);
        },
        Qt::QueuedConnection);
  };
  RunLoopEvents events;
  events.snapshot = [this, post, reference](RunSnapshot s) {
    post([this, reference, s = std::move(s)](Lane&) {
      if (reference) emit referenceSnapshot(s);
      else emit snapshot(s);
    });
  };
  events.state = [this, post, reference](RunState state, int64_t steps) {
    post([this, reference, state, steps](Lane& l) {
      l.state = state;
      if (reference) emit referenceStateChanged(state, steps);
      else emit stateChanged(state, steps);
    });
  };
  events.failed = [this, post, reference](const std::string& message) {
    post([this, reference, m = QString::fromStdString(message)](Lane&) {
      if (reference) emit referenceFailed(m);
      else emit failed(m);
    });
  };
  events.config_rejected = [this, post](const std::string& message) {
    post([this, m = QString::fromStdString(message)](Lane&) { emit configRejected(m); });
  };

  lane.loop = std::make_shared<RunLoop>(config, models_, std::move(events), options_);
  std::shared_ptr<RunLoop> loop = lane.loop;
  QThread* thread = QThread::create([loop] { loop->run(); });
  thread->setObjectName(reference ? "kvwb-reference" : "kvwb-run");
  workers_.push_back({loop, thread});
  thread->start();
}

void RunController::forget_finished_workers() {
  for (Worker& w : workers_) {
    if (w.thread->isFinished()) {
      delete w.thread;
      w.thread = nullptr;
    }
  }
  workers_.erase(std::remove_if(workers_.begin(), workers_.end(), [](const Worker& w) { return w.thread == nullptr; }),
                 workers_.end());
}

}  // namespace kvwb
