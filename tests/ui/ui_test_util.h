#pragma once
// Shared by the ui tests: one offscreen QApplication, event-processing waits, and small
// workloads for the fixture model.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <QApplication>
#include <QElapsedTimer>
#include <QThread>
#include <nlohmann/json.hpp>

#include "engine/config/run_config.h"

namespace kvwb::ui_test {

// Created on first use, offscreen unless QT_QPA_PLATFORM says otherwise (ctest sets nothing).
inline QApplication& app() {
  static int argc = 1;
  static char name[] = "kvwb_ui_tests";
  static char* argv[] = {name, nullptr};
  static QApplication* instance = [] {
    if (std::getenv("QT_QPA_PLATFORM") == nullptr) setenv("QT_QPA_PLATFORM", "offscreen", 1);
    return new QApplication(argc, argv);
  }();
  return *instance;
}

// Processes events until `done` holds or `timeout_ms` passes; returns whether it held.
inline bool wait_until(const std::function<bool()>& done, int timeout_ms = 60000) {
  app();
  QElapsedTimer timer;
  timer.start();
  while (!done()) {
    if (timer.elapsed() > timeout_ms) return false;
    QApplication::processEvents(QEventLoop::AllEvents, 20);
    QThread::msleep(1);
  }
  return true;
}

inline std::string fixture_model() { return std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied"; }

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("kvwb-ui-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// `count` requests over two tasks, each a prompt of about `words` words whose answer is a word
// of the prompt (the fixture model is random: the answers only make the metrics run).
inline std::string write_workload(const TempDir& dir, int count, int words, int max_new_tokens) {
  static const char* const vocab[] = {"apple", "river", "stone", "cloud", "lamp", "tiger", "maple", "piano"};
  const std::string path = dir.file("workload.jsonl");
  std::ofstream out(path);
  for (int i = 0; i < count; ++i) {
    std::string prompt;
    for (int w = 0; w < words; ++w) prompt += std::string(vocab[(i * 3 + w * 5) % 8]) + " ";
    nlohmann::json line = {{"id", std::string("r").append(std::to_string(i))},
                           {"prompt", prompt},
                           {"max_new_tokens", max_new_tokens},
                           {"task", i % 2 == 0 ? "even" : "odd"},
                           {"answers", {vocab[i % 8]}},
                           {"metric", "contains_any"}};
    out << line.dump() << "\n";
  }
  return path;
}

inline RunConfig fixture_config(const std::string& workload) {
  RunConfig c;
  c.model = fixture_model();
  c.workload = workload;
  c.threads = 1;
  c.block_size = 4;
  c.prefill_chunk = 16;
  return c;
}

}  // namespace kvwb::ui_test

#include <QAbstractItemModelTester>
#include <QStringList>

namespace kvwb::ui_test {

// Runs QAbstractItemModelTester in warning mode and collects what it reports, so a broken
// model invariant fails the test with the tester's message instead of aborting the binary.
class ModelChecker {
 public:
  explicit ModelChecker(QAbstractItemModel* model) {
    app();
    current() = this;
    previous_ = qInstallMessageHandler(&ModelChecker::handler);
    tester_ = new QAbstractItemModelTester(model, QAbstractItemModelTester::FailureReportingMode::Warning);
  }
  ~ModelChecker() {
    delete tester_;
    qInstallMessageHandler(previous_);
    current() = nullptr;
  }
  const QStringList& failures() const { return failures_; }

 private:
  static ModelChecker*& current() {
    static ModelChecker* c = nullptr;
    return c;
  }
  static void handler(QtMsgType type, const QMessageLogContext& context, const QString& message) {
    if (current() != nullptr && type == QtWarningMsg && context.category != nullptr &&
        QString::fromLatin1(context.category) == QLatin1String("qt.modeltest")) {
      current()->failures_ << message;
    }
  }
  QAbstractItemModelTester* tester_ = nullptr;
  QtMessageHandler previous_ = nullptr;
  QStringList failures_;
};

}  // namespace kvwb::ui_test
