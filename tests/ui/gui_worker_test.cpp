// The GUI worker helper: posts run on the GUI thread while their job is current; a cancelled or
// replaced job's posts are dropped; destruction waits for every job (woken by its interrupt)
// without deadlock; an exception reaches the error handler on the GUI thread, a cancellation
// does not.
#include "ui/controller/gui_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <QCoreApplication>
#include <QThread>

#include "tests/ui/ui_test_util.h"

namespace kvwb {
namespace {

using ui_test::wait_until;

void short_sleep() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }

// Delivers every post queued so far (a post is a queued call to the worker object).
void deliver_posts(GuiWorker& worker) { QCoreApplication::sendPostedEvents(&worker); }

TEST(GuiWorker, PostsRunOnTheGuiThreadUntilCancelled) {
  ui_test::app();
  GuiWorker worker("test-worker");
  int delivered = 0;
  bool on_gui_thread = true;
  std::atomic<int> posted{0};
  std::atomic<bool> ended{false};
  worker.start(
      [&](const WorkerJob& job) {
        while (!job.cancelled()) {
          job.post([&] {
            ++delivered;
            on_gui_thread = on_gui_thread && QThread::currentThread() == QCoreApplication::instance()->thread();
          });
          ++posted;
          short_sleep();
        }
        // Reports after the cancel, as a job finishing its step would send them.
        for (int i = 0; i < 5; ++i) job.post([&] { ++delivered; });
        ++posted;
        ended = true;
      },
      {});
  ASSERT_TRUE(wait_until([&] { return delivered >= 3; }));
  EXPECT_TRUE(worker.busy());
  EXPECT_TRUE(worker.cancel());
  EXPECT_FALSE(worker.cancel());  // once
  const int at_cancel = delivered;
  ASSERT_TRUE(wait_until([&] { return ended.load() && !worker.busy(); }));
  deliver_posts(worker);
  EXPECT_EQ(delivered, at_cancel);  // everything posted but not yet run at the cancel is dropped
  EXPECT_GT(posted.load(), at_cancel);  // there was something to drop
  EXPECT_TRUE(on_gui_thread);
}

TEST(GuiWorker, AReplacedJobsPostsAndErrorsAreDropped) {
  ui_test::app();
  GuiWorker worker("test-worker");
  QStringList got, errors;
  std::atomic<bool> release_old{false}, old_done{false};
  worker.start(
      [&](const WorkerJob& job) {
        while (!release_old) short_sleep();  // deaf to the cancel: finishes its "step" regardless
        job.post([&] { got << "old"; });
        old_done = true;
        throw std::runtime_error("old job failed late");
      },
      [&](const QString& m) { errors << m; });
  worker.start([&](const WorkerJob& job) { job.post([&] { got << "new"; }); }, [&](const QString& m) { errors << m; });
  EXPECT_FALSE(old_done.load());  // start did not wait for the job it replaced
  ASSERT_TRUE(wait_until([&] { return got.contains("new"); }));
  release_old = true;
  ASSERT_TRUE(wait_until([&] { return old_done.load(); }));
  worker.join();  // the old thread has posted its error by now
  deliver_posts(worker);
  EXPECT_EQ(got, QStringList{"new"});
  EXPECT_TRUE(errors.isEmpty()) << errors.join("; ").toStdString();
}

TEST(GuiWorker, DestroyingWhileJobsRunJoinsThemAndDropsTheirPosts) {
  ui_test::app();
  int delivered = 0;
  std::atomic<bool> waiter_ended{false}, poller_ended{false};
  // A job that waits on a condition of its own: only its interrupt wakes it.
  auto mutex = std::make_shared<std::mutex>();
  auto wake = std::make_shared<std::condition_variable>();
  auto woken = std::make_shared<bool>(false);
  std::atomic<bool> waiting{false};
  {
    GuiWorker worker("test-worker");
    worker.start(
        [&](const WorkerJob& job) {
          while (!job.cancelled()) short_sleep();
          std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the step it was in
          job.post([&] { ++delivered; });
          poller_ended = true;
        },
        {});
    worker.start(  // retires the first job (cancelled, still running)
        [&, mutex, wake, woken](const WorkerJob& job) {
          std::unique_lock lock(*mutex);
          waiting = true;
          wake->wait(lock, [&] { return *woken; });
          job.post([&] { ++delivered; });
          waiter_ended = true;
        },
        {},
        [mutex, wake, woken] {
          {
            std::lock_guard lock(*mutex);
            *woken = true;
          }
          wake->notify_all();
        });
    ASSERT_TRUE(wait_until([&] { return waiting.load(); }));
    EXPECT_TRUE(worker.busy());
  }  // destroyed here: cancels, interrupts, waits
  EXPECT_TRUE(poller_ended.load());
  EXPECT_TRUE(waiter_ended.load());
  QCoreApplication::processEvents();
  EXPECT_EQ(delivered, 0);  // posted to a worker that is gone
}

TEST(GuiWorker, AThrowingJobReportsItsErrorOnTheGuiThread) {
  ui_test::app();
  GuiWorker worker("test-worker");
  QStringList errors;
  bool on_gui_thread = false;
  auto on_error = [&](const QString& m) {
    errors << m;
    on_gui_thread = QThread::currentThread() == QCoreApplication::instance()->thread();
  };
  worker.start([](const WorkerJob&) { throw std::runtime_error("model.gguf: bad magic 0x1234"); }, on_error);
  ASSERT_TRUE(wait_until([&] { return !errors.isEmpty(); }));
  EXPECT_EQ(errors, QStringList{"model.gguf: bad magic 0x1234"});
  EXPECT_TRUE(on_gui_thread);

  // Not a std::exception: the message names the thread.
  errors.clear();
  worker.start([](const WorkerJob&) { throw 42; }, on_error);
  ASSERT_TRUE(wait_until([&] { return !errors.isEmpty(); }));
  EXPECT_EQ(errors, QStringList{"unknown error in test-worker"});

  // A cancellation is no error.
  errors.clear();
  std::atomic<bool> thrown{false};
  worker.start(
      [&](const WorkerJob& job) {
        while (true) {
          try {
            job.throw_if_cancelled();
          } catch (const WorkerCancelled&) {
            thrown = true;
            throw;
          }
          short_sleep();
        }
      },
      on_error);
  worker.cancel();
  worker.join();
  deliver_posts(worker);
  EXPECT_TRUE(thrown.load());
  EXPECT_TRUE(errors.isEmpty()) << errors.join("; ").toStdString();
  EXPECT_FALSE(worker.busy());
}

}  // namespace
}  // namespace kvwb
