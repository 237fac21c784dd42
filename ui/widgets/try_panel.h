#pragma once
// The Try panel: type a prompt (or a chat message), run it alone under the current policy and
// budget, and read the answer beside the full-KV answer of the same prompt; the eviction map
// (token position x layer/head, coloured by the step that evicted it) fills as the run goes.
#include <functional>

#include <QWidget>

#include "engine/config/run_config.h"
#include "ui/models/eviction_map.h"

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTimer;

namespace kvwb {

class HeatmapPlot;
class TryRunner;
struct EvictionBatch;

class TryPanel : public QWidget {
  Q_OBJECT

 public:
  // `current_config` gives the model, backend, policy and budgets the prompt runs under.
  TryPanel(TryRunner* runner, std::function<RunConfig()> current_config, QWidget* parent = nullptr);

  void set_prompt(const QString& text);
  void set_chat(bool chat);
  void run();  // what the Run button does
  QString policy_answer() const;
  QString full_answer() const;
  const LiveEvictionMap& eviction_map() const { return map_; }
  HeatmapPlot* eviction_plot() const { return map_plot_; }

 signals:
  void finished(double token_agreement);

 private:
  void on_started(qint64 prompt_tokens, int layers, int kv_heads);
  void on_evictions(const EvictionBatch& batch);
  void refresh_map();

  TryRunner* runner_;
  std::function<RunConfig()> current_config_;
  QPlainTextEdit* prompt_ = nullptr;
  QCheckBox* chat_ = nullptr;
  QSpinBox* max_tokens_ = nullptr;
  QPushButton *run_ = nullptr, *stop_ = nullptr;
  QLabel *policy_title_ = nullptr, *status_ = nullptr;
  QPlainTextEdit *policy_answer_ = nullptr, *full_answer_ = nullptr;
  HeatmapPlot* map_plot_ = nullptr;
  LiveEvictionMap map_;
  uint64_t drawn_revision_ = 0;
  qint64 prompt_tokens_ = 0;
  QTimer* map_timer_ = nullptr;
};

}  // namespace kvwb
