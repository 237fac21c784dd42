#pragma once
// The token view: a traced request's prompt and answer as text, each token shaded by the share
// of (layer, KV head) rows that still keep it after the chosen step (or for one chosen head),
// with the answer and the expected answer beside it and, below, the eviction map of every head
// at that step (token position x head row); clicking a token centres the map on it. The same
// widget serves the Live tab (traces grow as the run goes) and a reopened session. Live, any
// request of the workload can be chosen for tracing in the next run (traceRequested).
#include <cstdint>
#include <vector>

#include <QStringList>
#include <QWidget>

#include "ui/models/token_traces.h"

class QComboBox;
class QLabel;
class QPushButton;
class QScrollArea;
class QSlider;

namespace kvwb {

class HeatmapPlot;
class TokenTextArea;
class TokenViewModel;

class TokenView : public QWidget {
  Q_OBJECT

 public:
  explicit TokenView(QWidget* parent = nullptr);

  // Replaces the traces shown; keeps the chosen request (and its step) when it is still there.
  void set_traces(std::vector<TokenTrace> traces);
  void clear();
  void select_request(const QString& request_id);
  // Selects this request as soon as the traces hold it (a live run sends it later).
  void prefer_request(const QString& request_id);
  void set_step(int64_t step);
  void set_row(int row);  // -1: every head; else layer * kv_heads + head
  void click_token(int64_t position);  // what a click does: the map centred on it

  // Live only: the workload's request ids to choose from, and those already asked for.
  void set_traceable(const QStringList& request_ids, const QStringList& requested);
  void set_traceable_visible(bool visible);

  TokenViewModel* model() const { return model_; }
  TokenTextArea* text() const { return text_; }
  HeatmapPlot* map() const { return map_; }
  QString answer_text() const;  // the side panel's text (answer, expected)
  QString request() const;
  const std::vector<TokenTrace>& traces() const { return traces_; }

 signals:
  void traceRequested(const QString& request_id);
  void tokenClicked(qint64 position);

 private:
  void show_request(int index);
  void update_steps();
  void update_side();
  void draw_map();

  std::vector<TokenTrace> traces_;
  TokenViewModel* model_ = nullptr;
  TokenTextArea* text_ = nullptr;
  QScrollArea* scroll_ = nullptr;
  HeatmapPlot* map_ = nullptr;
  QComboBox *request_ = nullptr, *heads_ = nullptr, *traceable_ = nullptr;
  QSlider* step_ = nullptr;
  QLabel *step_label_ = nullptr, *side_ = nullptr, *legend_ = nullptr, *requested_ = nullptr;
  QPushButton* trace_ = nullptr;
  QWidget* trace_bar_ = nullptr;
  std::vector<int64_t> steps_;  // the slider's stops: steps that evicted something, then the last
  int64_t focused_ = -1;
  QString preferred_;
};

}  // namespace kvwb
