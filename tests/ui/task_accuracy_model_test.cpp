#include "ui/models/task_accuracy_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/ui/ui_test_util.h"
#include "engine/workload/fidelity.h"

namespace kvwb {
namespace {

RequestResult result(const std::string& id, const std::string& task, const std::string& text, double score,
                     std::vector<int32_t> tokens, std::vector<std::string> answers = {"apple"}) {
  RequestResult r;
  r.id = id;
  r.task = task;
  r.metric = "contains_any";
  r.answers = std::move(answers);
  r.output_text = text;
  r.output_tokens = std::move(tokens);
  r.score = score;
  return r;
}

const TaskAccuracyModel::Row& row(const TaskAccuracyModel& m, const std::string& task) {
  for (const auto& r : m.rows()) {
    if (r.task == task) return r;
  }
  throw std::runtime_error("no row " + task);
}

TEST(TokenAgreement, CountsPositionalMatchesOverTheLongerOutput) {
  EXPECT_DOUBLE_EQ(token_agreement({1, 2, 3, 4}, {1, 2, 3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(token_agreement({1, 2, 9, 4}, {1, 2, 3, 4}), 0.75);
  EXPECT_DOUBLE_EQ(token_agreement({1, 2}, {1, 2, 3, 4}), 0.5);  // stopped early
  EXPECT_DOUBLE_EQ(token_agreement({1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3, 4}), 0.5);  // ran on
  EXPECT_DOUBLE_EQ(token_agreement({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(token_agreement({}, {7}), 0.0);
}

TEST(TaskAccuracyModel, PassesTheItemModelTesterThroughItsLife) {
  TaskAccuracyModel model;
  ui_test::ModelChecker checker(&model);
  model.set_task_totals({{"even", 2}, {"odd", 1}});
  model.add_results({result("a", "even", "apple", 1, {1, 2})});
  model.add_results({result("b", "odd", "pear", 0, {3})});
  model.add_reference_results({result("a", "even", "apple", 1, {1, 2})});
  model.add_results({result("c", "new-task", "x", 0, {4})});  // a task the totals did not list
  model.clear_reference();
  model.clear();
  EXPECT_TRUE(checker.failures().isEmpty()) << checker.failures().join("\n").toStdString();
  EXPECT_EQ(model.rowCount(), 1);  // only "all" is left
}

TEST(TaskAccuracyModel, HandComputedScoresPerTaskAndOverall) {
  ui_test::app();
  TaskAccuracyModel model;
  model.set_task_totals({{"even", 3}, {"odd", 1}});
  model.add_results({
      result("a", "even", "The apple", 1, {1}),   // EM 1, F1 1 (articles dropped); ROUGE-L 2/3 (kept)
      result("b", "even", "apple pie", 1, {2}),   // EM 0, F1 2/3, ROUGE-L 2/3
      result("c", "odd", "a pear", 0, {3}),       // EM 0, F1 0, ROUGE-L 0
  });
  const auto& even = row(model, "even");
  EXPECT_EQ(even.done, 2);
  EXPECT_EQ(even.total, 3);
  EXPECT_DOUBLE_EQ(even.score, 1.0);
  EXPECT_DOUBLE_EQ(even.exact_match, 0.5);
  EXPECT_NEAR(even.f1, (1.0 + 2.0 / 3.0) / 2, 1e-12);
  EXPECT_NEAR(even.rouge_l, 2.0 / 3.0, 1e-12);
  const auto& all = model.overall();
  EXPECT_EQ(all.task, "all");
  EXPECT_EQ(all.done, 3);
  EXPECT_EQ(all.total, 4);
  EXPECT_NEAR(all.score, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(all.exact_match, 1.0 / 3.0, 1e-12);
  EXPECT_TRUE(std::isnan(all.full_kv_score));  // no reference yet
  EXPECT_TRUE(std::isnan(all.fraction_of_full));
  EXPECT_FALSE(model.has_reference());

  // What a view shows.
  const int even_row = 0;  // rows are sorted by task, "all" last
  EXPECT_EQ(model.index(even_row, TaskAccuracyModel::Task).data().toString(), "even");
  EXPECT_EQ(model.index(even_row, TaskAccuracyModel::Done).data().toString(), "2 / 3");
  EXPECT_EQ(model.index(even_row, TaskAccuracyModel::ExactMatch).data().toString(), "50.0%");
  EXPECT_EQ(model.index(even_row, TaskAccuracyModel::FullKvScore).data().toString(), "–");
  EXPECT_DOUBLE_EQ(model.index(even_row, TaskAccuracyModel::Score).data(TaskAccuracyModel::kRawValueRole).toDouble(), 1.0);
}

TEST(TaskAccuracyModel, FractionOfFullKvUsesOnlyRequestsBothRunsFinished) {
  ui_test::app();
  TaskAccuracyModel model;
  model.add_results({
      result("a", "t", "apple", 1, {5, 6, 7, 8}),
      result("b", "t", "nope", 0, {1, 2}),
      result("c", "t", "apple", 1, {9}),  // the reference has not finished c
  });
  model.add_reference_results({
      result("a", "t", "apple", 1, {5, 6, 0, 8}),  // 3 of 4 tokens agree
      result("b", "t", "apple", 1, {1, 2}),        // 2 of 2
      result("z", "t", "apple", 1, {4}),           // the run has not finished z
  });
  const auto& t = row(model, "t");
  EXPECT_NEAR(t.score, 2.0 / 3.0, 1e-12);        // all three finished requests
  EXPECT_DOUBLE_EQ(t.full_kv_score, 1.0);         // a and b
  EXPECT_DOUBLE_EQ(t.fraction_of_full, 0.5);      // run scores 1, 0 on a, b vs 1, 1
  EXPECT_DOUBLE_EQ(t.token_agreement, (0.75 + 1.0) / 2);
  EXPECT_TRUE(model.has_reference());
  EXPECT_EQ(model.index(0, TaskAccuracyModel::FractionOfFull).data().toString(), "50.0%");

  model.clear_reference();
  EXPECT_TRUE(std::isnan(row(model, "t").fraction_of_full));
  EXPECT_EQ(row(model, "t").done, 3);  // the run's own results stay
}

TEST(TaskAccuracyModel, RequestsWithoutMetricOrAnswersShowNoScore) {
  ui_test::app();
  TaskAccuracyModel model;
  model.add_results({result("a", "", "hello", -1, {1}, {})});
  const auto& r = model.rows().front();
  EXPECT_EQ(r.task, "(untasked)");
  EXPECT_EQ(r.done, 1);
  EXPECT_TRUE(std::isnan(r.score));
  EXPECT_TRUE(std::isnan(r.exact_match));
  EXPECT_EQ(model.index(0, TaskAccuracyModel::Score).data().toString(), "–");
}

}  // namespace
}  // namespace kvwb
