#pragma once
// Accuracy as requests complete, one row per task plus an "all" row: the request's own metric
// (the workload's score), EM, token F1 and ROUGE-L against the reference answers, and, once a
// full-KV reference run has finished the same requests, its score, the run's score as a
// fraction of it (the Batch-Max paper's "relative accuracy") and the token agreement with it.
// Comparisons with the reference use only the requests both runs have finished.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <QAbstractTableModel>

#include "run/run.h"

namespace kvwb {

class TaskAccuracyModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Task, Done, Score, ExactMatch, F1, RougeL, FullKvScore, FractionOfFull, TokenAgreement, ColumnCount };
  static constexpr int kRawValueRole = Qt::UserRole;  // the number behind a cell (NaN when none)

  struct Row {
    std::string task;  // "all" for the last row
    int64_t total = 0, done = 0;
    double score = 0, exact_match = 0, f1 = 0, rouge_l = 0;  // NaN when no request was scored
    double full_kv_score = 0, fraction_of_full = 0, token_agreement = 0;  // NaN without a reference
  };

  explicit TaskAccuracyModel(QObject* parent = nullptr);

  void set_task_totals(const std::map<std::string, int64_t>& totals);  // requests per task in the workload
  void add_results(const std::vector<RequestResult>& results);
  void add_reference_results(const std::vector<RequestResult>& results);
  void clear();            // a new run: results, totals and reference
  void clear_reference();  // a new reference run

  const std::vector<Row>& rows() const { return rows_; }
  const Row& overall() const { return rows_.back(); }
  bool has_reference() const { return !reference_.empty(); }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  struct Scored {
    std::string task;
    double score = -1;  // the request's metric; -1 when it has none
    double exact_match = 0, f1 = 0, rouge_l = 0;  // NaN when the request has no answers
    std::vector<int32_t> tokens;
  };
  static Scored score(const RequestResult& r);
  void recompute();
  static double raw(const Row& row, int column);

  std::map<std::string, int64_t> totals_;
  std::map<std::string, Scored> run_, reference_;  // by request id
  std::vector<Row> rows_;
};

}  // namespace kvwb
