#include "ui/controller/gui_worker.h"

#include <exception>
#include <utility>

#include <QMetaObject>
#include <QThread>

namespace kvwb {

void WorkerJob::throw_if_cancelled() const {
  if (cancelled()) throw WorkerCancelled{};
}

void WorkerJob::post(std::function<void()> call) const {
  // Queued to the worker object: Qt drops it if the worker is gone, the generation check if the
  // job is no longer current.
  GuiWorker* worker = worker_;
  const int generation = generation_;
  QMetaObject::invokeMethod(
      worker,
      [worker, generation, call = std::move(call)] {
        if (worker->generation_ == generation) call();
      },
      Qt::QueuedConnection);
}

GuiWorker::GuiWorker(QString thread_name, QObject* parent) : QObject(parent), thread_name_(std::move(thread_name)) {}

GuiWorker::~GuiWorker() { join(); }

void GuiWorker::start(Body body, ErrorHandler on_error, std::function<void()> interrupt) {
  cancel();
  if (current_ != nullptr) retired_.push_back(std::exchange(current_, nullptr));
  forget_finished();
  cancelled_ = std::make_shared<std::atomic<bool>>(false);
  interrupt_ = std::move(interrupt);
  const WorkerJob job(this, generation_, cancelled_);
  current_ = QThread::create([job, body = std::move(body), on_error = std::move(on_error)] {
    auto report = [&](QString message) {
      if (on_error) job.post([on_error, message = std::move(message)] { on_error(message); });
    };
    try {
      body(job);
    } catch (const WorkerCancelled&) {
    } catch (const std::exception& e) {
      report(QString::fromUtf8(e.what()));
    } catch (...) {
      report(QStringLiteral("unknown error in %1").arg(QThread::currentThread()->objectName()));
    }
  });
  current_->setObjectName(thread_name_);
  current_->start();
}

bool GuiWorker::cancel() {
  ++generation_;  // whatever the job still posts is dropped
  if (!cancelled_ || cancelled_->exchange(true)) return false;
  if (interrupt_) interrupt_();
  return true;
}

bool GuiWorker::busy() const { return current_ != nullptr && !current_->isFinished(); }

void GuiWorker::join() {
  cancel();
  if (current_ != nullptr) retired_.push_back(std::exchange(current_, nullptr));
  for (QThread* t : retired_) {
    t->wait();
    delete t;
  }
  retired_.clear();
}

void GuiWorker::forget_finished() {
  std::erase_if(retired_, [](QThread* t) {
    if (!t->isFinished()) return false;
    delete t;
    return true;
  });
}

}  // namespace kvwb
