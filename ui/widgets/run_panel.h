#pragma once
// What to run and the run's buttons: model (SmolLM2, demo, any HF folder or GGUF file),
// workload, backend, KV pool and request limit; Start, Pause, Resume, Stop and the full-KV
// reference run. The buttons only ask: the main window forwards to the controller.
#include <QGroupBox>
#include <QStringList>

#include "engine/config/run_config.h"
#include "ui/controller/run_snapshot.h"

class QComboBox;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace kvwb {

class RunPanel : public QGroupBox {
  Q_OBJECT

 public:
  explicit RunPanel(QWidget* parent = nullptr);

  void set_choices(const QStringList& models, const QStringList& workloads);
  void select(const RunConfig& config);  // shows the config's model, workload, backend, pool
  // The panel's fields written into `base`; throws Error naming the field when one is invalid.
  RunConfig fill(RunConfig base) const;
  void set_state(RunState state, RunState reference_state);

  QPushButton* start_button() const { return start_; }
  QPushButton* pause_button() const { return pause_; }
  QPushButton* resume_button() const { return resume_; }
  QPushButton* stop_button() const { return stop_; }
  QPushButton* reference_button() const { return reference_; }

 signals:
  void startRequested();
  void pauseRequested();
  void resumeRequested();
  void stopRequested();
  void referenceRequested();

 private:
  static void choose(QComboBox* box, const QString& value);
  void browse_model_folder();
  void browse_model_file();
  void browse_workload();

  QComboBox *model_ = nullptr, *workload_ = nullptr, *backend_ = nullptr, *kv_dtype_ = nullptr, *kv_rotation_ = nullptr;
  QLineEdit* pool_ = nullptr;
  QSpinBox* max_requests_ = nullptr;
  QPushButton *start_ = nullptr, *pause_ = nullptr, *resume_ = nullptr, *stop_ = nullptr, *reference_ = nullptr;
};

}  // namespace kvwb
