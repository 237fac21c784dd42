#include "ui/controller/session_loader.h"

#include <algorithm>
#include <functional>

#include "sessions/session_rows.h"
#include "sessions/session_store.h"

namespace kvwb {

LoadedSessionPtr load_session_paged(const std::string& db_path, int64_t id, const std::atomic<bool>& cancel,
                                    const std::function<void(int64_t, int64_t)>& progress, int64_t page) {
  page = std::max<int64_t>(page, 1);
  // The file must exist: opening a session never creates a database.
  SessionStore store = SessionStore::open(db_path, sqlite::OpenMode::read_write);
  auto out = std::make_shared<LoadedSession>();
  out->db_path = db_path;
  Session& s = out->session;
  s.info = store.info(id);
  s.config_changes = store.config_changes(id);
  const std::vector<int64_t> snapshot_steps = store.retention_steps(id);
  // Units of work: steps, snapshots (a snapshot weighs as much as a page of steps / 64), the rest.
  const int64_t snapshot_weight = std::max<int64_t>(page / 64, 1);
  const int64_t total = s.info.steps + static_cast<int64_t>(snapshot_steps.size()) * snapshot_weight + page;
  int64_t done = 0;
  auto report = [&](int64_t add) {
    done += add;
    if (progress) progress(std::min(done, total), total);
    return !cancel.load();
  };
  if (!report(0)) return nullptr;
  for (int64_t first = 0;;) {
    std::vector<StepStats> chunk = store.steps(id, first, page);
    if (chunk.empty()) break;
    first = chunk.back().step + 1;
    const auto n = static_cast<int64_t>(chunk.size());
    std::move(chunk.begin(), chunk.end(), std::back_inserter(s.steps));
    if (!report(n)) return nullptr;
    if (n < page) break;
  }
  const size_t per_read = 64;
  for (size_t i = 0; i < snapshot_steps.size(); i += per_read) {
    const size_t last = std::min(i + per_read, snapshot_steps.size()) - 1;
    std::vector<RetentionSnapshot> chunk = store.retention(id, snapshot_steps[i], snapshot_steps[last]);
    std::move(chunk.begin(), chunk.end(), std::back_inserter(s.retention));
    if (!report(static_cast<int64_t>(last - i + 1) * snapshot_weight)) return nullptr;
  }
  s.results = store.results(id);
  s.tokens = store.tokens(id);
  s.summary = store.summary(id);
  s.events = store.events(id);
  if (cancel.load()) return nullptr;
  s.eviction_maps = read_eviction_maps(store.database(), id);
  replay_session(s, out->replay);
  if (!report(page)) return nullptr;
  return out;
}

SessionLoader::SessionLoader(QObject* parent) : QObject(parent) { qRegisterMetaType<kvwb::LoadedSessionPtr>(); }

void SessionLoader::cancel() {
  if (worker_.cancel()) emit cancelled();
}

bool SessionLoader::busy() const { return worker_.busy(); }

void SessionLoader::load(const QString& db_path, qint64 id, qint64 other) {
  worker_.start(
      [this, path = db_path.toStdString(), id, other](const WorkerJob& job) {
        // Progress over both sessions: the first fills the first half when there are two.
        const int64_t parts = other != 0 ? 2 : 1;
        int64_t part = 0;
        auto report = [&](int64_t done, int64_t total) {
          const int64_t scaled_done = part * 1000 + (total > 0 ? 1000 * done / total : 0);
          job.post([this, scaled_done, parts] { emit progress(scaled_done, parts * 1000); });
        };
        LoadedSessionPtr a = load_session_paged(path, id, job.cancel_flag(), report);
        if (!a) return;
        LoadedSessionPtr b;
        if (other != 0) {
          part = 1;
          b = load_session_paged(path, other, job.cancel_flag(), report);
          if (!b) return;
        }
        job.post([this, a, b] { emit loaded(a, b); });
      },
      [this](const QString& m) { emit failed(m); });
}

}  // namespace kvwb
