#include "ui/controller/run_controller.h"

#include <utility>

namespace kvwb {

RunController::RunController(QObject* parent, RunLoopOptions options, std::shared_ptr<ModelCache> models)
    : QObject(parent), options_(options), models_(models ? std::move(models) : std::make_shared<ModelCache>()) {
  qRegisterMetaType<kvwb::RunSnapshot>();
  qRegisterMetaType<kvwb::RunState>();
}

RunController::~RunController() {
  // Both lanes stop at once; each worker then waits for its threads.
  main_.worker.cancel();
  reference_.worker.cancel();
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
  lane.config = config;
  lane.state = RunState::Loading;
  lane.loop = std::make_shared<RunLoop>(config, models_, options_);
  std::shared_ptr<RunLoop> loop = lane.loop;
  // The loop's callbacks run on the worker; each posts to this object on the GUI thread, where a
  // report of a run this lane no longer shows is dropped.
  auto body = [this, loop, reference, &lane](const WorkerJob& job) {
    RunLoopEvents events;
    events.snapshot = [this, job, reference](RunSnapshot s) {
      job.post([this, reference, s = std::move(s)] {
        if (reference) emit referenceSnapshot(s);
        else emit snapshot(s);
      });
    };
    events.state = [this, job, reference, &lane](RunState state, int64_t steps) {
      job.post([this, reference, &lane, state, steps] {
        lane.state = state;
        if (reference) emit referenceStateChanged(state, steps);
        else emit stateChanged(state, steps);
      });
    };
    events.failed = [this, job, reference](const std::string& message) {
      job.post([this, reference, m = QString::fromStdString(message)] { emit_failed(reference, m); });
    };
    events.config_rejected = [this, job](const std::string& message) {
      job.post([this, m = QString::fromStdString(message)] { emit configRejected(m); });
    };
    loop->run(std::move(events));
  };
  // The loop reports its own errors; the handler is for anything that escapes it.
  lane.worker.start(
      body, [this, reference](const QString& m) { emit_failed(reference, m); }, [loop] { loop->stop(); });
}

void RunController::emit_failed(bool reference, const QString& message) {
  if (reference) emit referenceFailed(message);
  else emit failed(message);
}

}  // namespace kvwb
