#include "ui/models/task_accuracy_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "engine/workload/metrics.h"
#include "engine/workload/fidelity.h"

namespace kvwb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kAll = "all";

// Running mean that stays NaN until it has a value.
struct Mean {
  double sum = 0;
  int64_t n = 0;
  void add(double v) {
    if (std::isnan(v)) return;
    sum += v;
    ++n;
  }
  double value() const { return n > 0 ? sum / static_cast<double>(n) : kNaN; }
};

struct Accumulator {
  int64_t done = 0;
  Mean score, em, f1, rouge;
  Mean run_common, full_common, agreement;  // over requests the reference finished too
};

QString percent(double v) { return std::isnan(v) ? QStringLiteral("–") : QString::number(100.0 * v, 'f', 1) + "%"; }

}  // namespace

TaskAccuracyModel::TaskAccuracyModel(QObject* parent) : QAbstractTableModel(parent) { recompute(); }

TaskAccuracyModel::Scored TaskAccuracyModel::score(const RequestResult& r) {
  Scored s;
  s.task = r.task;
  s.score = r.score;
  s.tokens = r.output_tokens;
  if (r.answers.empty()) {
    s.exact_match = s.f1 = s.rouge_l = kNaN;
  } else {
    s.exact_match = score_answer("em", r.output_text, r.answers);
    s.f1 = score_answer("f1", r.output_text, r.answers);
    s.rouge_l = score_answer("rouge_l", r.output_text, r.answers);
  }
  return s;
}

void TaskAccuracyModel::set_task_totals(const std::map<std::string, int64_t>& totals) {
  totals_ = totals;
  recompute();
}

void TaskAccuracyModel::add_results(const std::vector<RequestResult>& results) {
  if (results.empty()) return;
  for (const RequestResult& r : results) run_[r.id] = score(r);
  recompute();
}

void TaskAccuracyModel::add_reference_results(const std::vector<RequestResult>& results) {
  if (results.empty()) return;
  for (const RequestResult& r : results) reference_[r.id] = score(r);
  recompute();
}

void TaskAccuracyModel::clear() {
  totals_.clear();
  run_.clear();
  reference_.clear();
  recompute();
}

void TaskAccuracyModel::clear_reference() {
  reference_.clear();
  recompute();
}

void TaskAccuracyModel::recompute() {
  std::map<std::string, Accumulator> by_task;
  Accumulator all;
  for (const auto& [task, total] : totals_) by_task[task];
  for (const auto& [id, s] : run_) {
    for (Accumulator* a : {&by_task[s.task], &all}) {
      ++a->done;
      if (s.score >= 0) a->score.add(s.score);
      a->em.add(s.exact_match);
      a->f1.add(s.f1);
      a->rouge.add(s.rouge_l);
      const auto ref = reference_.find(id);
      if (ref == reference_.end()) continue;
      a->agreement.add(token_agreement(s.tokens, ref->second.tokens));
      if (s.score >= 0 && ref->second.score >= 0) {
        a->run_common.add(s.score);
        a->full_common.add(ref->second.score);
      }
    }
  }
  auto make_row = [&](const std::string& task, const Accumulator& a, int64_t total) {
    Row r;
    r.task = task;
    r.total = std::max(total, a.done);
    r.done = a.done;
    r.score = a.score.value();
    r.exact_match = a.em.value();
    r.f1 = a.f1.value();
    r.rouge_l = a.rouge.value();
    r.full_kv_score = a.full_common.value();
    const double full = r.full_kv_score;
    // A full-KV score of 0 has no meaningful fraction.
    r.fraction_of_full = std::isnan(full) || full <= 0 ? kNaN : a.run_common.value() / full;
    r.token_agreement = a.agreement.value();
    return r;
  };
  std::vector<Row> rows;
  int64_t all_total = 0;
  for (const auto& [task, a] : by_task) {
    const auto t = totals_.find(task);
    const int64_t total = t == totals_.end() ? 0 : t->second;
    all_total += total;
    rows.push_back(make_row(task.empty() ? std::string("(untasked)") : task, a, total));
  }
  rows.push_back(make_row(kAll, all, all_total));

  const bool same_shape = rows.size() == rows_.size() &&
                          std::equal(rows.begin(), rows.end(), rows_.begin(),
                                     [](const Row& a, const Row& b) { return a.task == b.task; });
  if (same_shape) {
    rows_ = std::move(rows);
    emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
  } else {
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
  }
}

int TaskAccuracyModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int TaskAccuracyModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

double TaskAccuracyModel::raw(const Row& r, int column) {
  switch (column) {
    case Done: return static_cast<double>(r.done);
    case Score: return r.score;
    case ExactMatch: return r.exact_match;
    case F1: return r.f1;
    case RougeL: return r.rouge_l;
    case FullKvScore: return r.full_kv_score;
    case FractionOfFull: return r.fraction_of_full;
    case TokenAgreement: return r.token_agreement;
    default: return kNaN;
  }
}

QVariant TaskAccuracyModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const Row& r = rows_[static_cast<size_t>(index.row())];
  const int c = index.column();
  if (role == Qt::DisplayRole) {
    if (c == Task) return QString::fromStdString(r.task);
    if (c == Done) return QStringLiteral("%1 / %2").arg(r.done).arg(r.total);
    return percent(raw(r, c));
  }
  if (role == kRawValueRole) {
    if (c == Task) return QString::fromStdString(r.task);
    return raw(r, c);
  }
  if (role == Qt::TextAlignmentRole && c != Task) return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant TaskAccuracyModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  static const char* const names[] = {"Task", "Done", "Score", "EM", "F1", "ROUGE-L", "Full KV", "% of full",
                                      "Agree"};
  static const char* const tips[] = {
      "Task name from the workload",
      "Requests finished / requests in the workload",
      "Mean of each request's own metric (the workload's score)",
      "Exact match with the best reference answer (SQuAD normalisation)",
      "Token F1 with the best reference answer",
      "ROUGE-L F-measure with the best reference answer",
      "Full-KV reference run's score on the requests both runs finished",
      "This run's score as a fraction of the full-KV score on the same requests",
      "Generated tokens equal to the full-KV output, position by position"};
  if (role == Qt::DisplayRole) return QString::fromLatin1(names[section]);
  if (role == Qt::ToolTipRole) return QString::fromLatin1(tips[section]);
  return {};
}

}  // namespace kvwb
