#pragma once
// A sweep's points as a scatter of throughput vs accuracy relative to full KV, one colour per
// policy and one marker shape per KV dtype (legend "policy, dtype"), the Pareto frontier as a dashed line, the recommended point ringed and the accuracy
// floor as a vertical line. Clicking a point says which row of the analysis it is.
// (SweepAnalysis stays forward-declared here: see ui/controller/sweep_runner.h.)
#include <map>
#include <memory>
#include <vector>

#include <QWidget>


class QCustomPlot;
class QCPAbstractPlottable;
class QCPGraph;

namespace kvwb {

struct SweepAnalysis;

class FrontierPlot : public QWidget {
  Q_OBJECT

 public:
  explicit FrontierPlot(QWidget* parent = nullptr);
  ~FrontierPlot() override;

  void set_analysis(std::shared_ptr<const SweepAnalysis> analysis);  // null: nothing
  QCustomPlot* plot() const { return plot_; }
  int points_drawn() const;    // scatter points over every policy's graph
  int frontier_points() const;  // points on the dashed frontier line

 signals:
  void pointClicked(int row);  // index into the analysis' rows

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void redraw();
  QCustomPlot* plot_ = nullptr;
  std::shared_ptr<const SweepAnalysis> analysis_;
  std::map<const QCPAbstractPlottable*, std::vector<int>> rows_of_;  // graph -> analysis row per data index
};

}  // namespace kvwb
