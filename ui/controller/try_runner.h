#pragma once
// The Try panel's engine side: one prompt, run alone under the current policy and budget (an
// engine run of a one-request workload, its evictions traced step by step) and then with full
// KV (single-sequence generation, streamed token by token). Runs on its own worker thread (a
// GuiWorker).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <QObject>
#include <QString>

#include "engine/config/run_config.h"
#include "engine/runtime/policy.h"
#include "ui/controller/gui_worker.h"
#include "ui/controller/model_cache.h"

namespace kvwb {

struct TryRequest {
  RunConfig config;  // model, backend, policy and budgets; the workload is ignored
  std::string prompt;
  bool chat = false;  // send the prompt as one user message through the model's chat template
  int64_t max_new_tokens = 64;
};

// Eviction decisions of one or more engine steps of the compressed Try run.
struct EvictionBatch {
  std::vector<EvictionRecord> records;
};

class TryRunner : public QObject {
  Q_OBJECT

 public:
  explicit TryRunner(std::shared_ptr<ModelCache> models, QObject* parent = nullptr);
  ~TryRunner() override = default;  // the worker cancels and waits

  void start(const TryRequest& request);  // cancels a try still going
  void cancel();
  bool busy() const;

 signals:
  // The prompt is tokenized: the eviction map needs its size.
  void started(qint64 prompt_tokens, int layers, int kv_heads);
  void policyProgress(qint64 step, qint64 prefilled, qint64 generated, qint64 evicted_slots);
  void evictions(const kvwb::EvictionBatch& batch);
  void policyAnswer(const QString& text, qint64 tokens);
  void fullPiece(const QString& text);  // the full-KV answer as it streams
  void fullAnswer(const QString& text, qint64 tokens);
  void finished(double token_agreement);  // both answers are in
  void failed(const QString& message);

 private:
  struct Job;
  std::shared_ptr<ModelCache> models_;
  GuiWorker worker_{"kvwb-try"};  // a cancelled job ends at its next token or step, unwaited for
};

}  // namespace kvwb

Q_DECLARE_METATYPE(kvwb::EvictionBatch)
