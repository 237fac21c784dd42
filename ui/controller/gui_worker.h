#pragma once
// One background job at a time for a GUI controller (a run lane, Try, Sweep, session loading).
// start() runs a job on its own thread; the job reports to the GUI thread only through
// WorkerJob::post(), whose calls run there only while the job is still the current one, so a
// cancelled or replaced job's late reports are dropped. A job that throws has its message posted
// to the error handler the same way. Threads are retired one way: start() never waits for the job
// it replaces (the window must not block on an engine step); join() and the destructor cancel
// every job and wait for all of them.
// start(), cancel(), busy() and join() belong to the thread that owns the worker (the GUI thread).
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include <QObject>
#include <QString>

class QThread;

namespace kvwb {

class GuiWorker;

// Thrown by WorkerJob::throw_if_cancelled(); ends the job quietly.
struct WorkerCancelled {};

// What a running job sees of its worker; cheap to copy, safe on any thread while the job runs.
class WorkerJob {
 public:
  bool cancelled() const { return cancelled_->load(); }
  const std::atomic<bool>& cancel_flag() const { return *cancelled_; }  // for code that polls a flag
  void throw_if_cancelled() const;
  // Runs `call` on the GUI thread, unless this job was cancelled or replaced by then.
  void post(std::function<void()> call) const;

 private:
  friend class GuiWorker;
  WorkerJob(GuiWorker* worker, int generation, std::shared_ptr<std::atomic<bool>> cancelled)
      : worker_(worker), generation_(generation), cancelled_(std::move(cancelled)) {}
  GuiWorker* worker_;
  int generation_;
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

class GuiWorker : public QObject {
 public:
  using Body = std::function<void(const WorkerJob& job)>;
  using ErrorHandler = std::function<void(const QString& message)>;

  explicit GuiWorker(QString thread_name, QObject* parent = nullptr);
  ~GuiWorker() override;  // join()

  // Cancels the current job and runs `body` on a new thread. `on_error` gets what the body threw
  // (a std::exception's message) on the GUI thread. `interrupt`, when given, is what cancel()
  // does besides setting the flag: it wakes a job that waits on something of its own.
  void start(Body body, ErrorHandler on_error, std::function<void()> interrupt = {});
  // Sets the current job's flag, interrupts it, and drops whatever it posts from now on. True
  // when there was a job not cancelled before.
  bool cancel();
  bool busy() const;  // the current job's thread is still running
  void join();        // cancels, then waits for every thread this worker started

 private:
  friend class WorkerJob;
  void forget_finished();

  QString thread_name_;
  int generation_ = 0;  // a post of an older generation is dropped
  std::shared_ptr<std::atomic<bool>> cancelled_;
  std::function<void()> interrupt_;
  QThread* current_ = nullptr;
  std::vector<QThread*> retired_;  // cancelled jobs still finishing their step
};

}  // namespace kvwb
