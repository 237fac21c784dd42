#pragma once
// Opens a recorded session in the background: a worker thread (a GuiWorker) reads it from the
// database in pages (steps, retention snapshots), reports progress after each page and stops at
// the next page when cancelled, then builds the replay (time series, grid size) off the GUI thread.
// An hour-long session with thousands of snapshots opens without freezing the window.
#include <atomic>
#include <memory>
#include <string>

#include <QObject>
#include <QString>

#include "sessions/session_types.h"
#include "ui/controller/gui_worker.h"
#include "ui/models/session_replay.h"

namespace kvwb {

struct LoadedSession {
  std::string db_path;
  Session session;
  SessionReplay replay;
};
using LoadedSessionPtr = std::shared_ptr<const LoadedSession>;

// Reads everything of session `id` through `store`-like paging; `progress(done, total)` after
// each page; returns nullptr when `cancel` was set. Throws kvwb::Error on a bad file or id.
// (The worker's body, callable without a thread in tests.)
LoadedSessionPtr load_session_paged(const std::string& db_path, int64_t id, const std::atomic<bool>& cancel,
                                    const std::function<void(int64_t, int64_t)>& progress, int64_t page = 4096);

class SessionLoader : public QObject {
  Q_OBJECT

 public:
  explicit SessionLoader(QObject* parent = nullptr);
  ~SessionLoader() override = default;  // the worker cancels and waits

  // Session `id`, and `other` too when it is not 0 (a comparison); cancels a load still going.
  void load(const QString& db_path, qint64 id, qint64 other = 0);
  void cancel();
  bool busy() const;

 signals:
  void progress(qint64 done, qint64 total);
  void loaded(const kvwb::LoadedSessionPtr& session, const kvwb::LoadedSessionPtr& other);  // other: null
  void failed(const QString& message);
  void cancelled();

 private:
  GuiWorker worker_{"kvwb-session-load"};  // a replaced load stops at its next page
};

}  // namespace kvwb

Q_DECLARE_METATYPE(kvwb::LoadedSessionPtr)
