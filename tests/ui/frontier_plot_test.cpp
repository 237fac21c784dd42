// The frontier plot of a sweep over KV dtypes: one graph per policy and dtype, named by both, the
// colour shared by a policy's graphs and a different marker shape for each dtype.
#include "ui/widgets/frontier_plot.h"

#include <gtest/gtest.h>

#include <qcustomplot.h>

#include <set>

#include "run/sweep/sweep.h"
#include "tests/ui/ui_test_util.h"

namespace kvwb {
namespace {

SweepRow row(const std::string& policy, const std::string& kv_dtype, double accuracy, double tps) {
  SweepRow r;
  r.point.config.policy.name = policy;
  r.point.config.kv_dtype = kv_dtype;
  r.point.reference = policy == "full" && kv_dtype == "f32";
  r.accuracy = accuracy;
  r.measured.summary.total_tokens_per_second = tps;
  return r;
}

TEST(FrontierPlot, MarksEachDtypeWithItsOwnShapeAndEachPolicyWithItsColour) {
  ui_test::app();
  auto a = std::make_shared<SweepAnalysis>();
  a->rows = {row("full", "f32", 1.0, 10), row("full", "q8_0", 0.98, 14), row("batch-max", "q8_0", 0.9, 20),
             row("batch-max", "q4_0", 0.7, 25), row("batch-max", "q4_0", 0.6, 27)};
  FrontierPlot plot;
  plot.set_analysis(a);
  EXPECT_EQ(plot.points_drawn(), 5);
  std::map<std::string, QCPGraph*> by_name;
  for (int i = 0; i < plot.plot()->graphCount(); ++i) by_name[plot.plot()->graph(i)->name().toStdString()] = plot.plot()->graph(i);
  for (const char* name : {"full, f32", "full, q8_0", "batch-max, q8_0", "batch-max, q4_0"}) {
    ASSERT_TRUE(by_name.count(name)) << name;
  }
  EXPECT_EQ(by_name["batch-max, q4_0"]->dataCount(), 2);
  const auto shape = [&](const char* name) { return by_name[name]->scatterStyle().shape(); };
  const auto colour = [&](const char* name) { return by_name[name]->scatterStyle().brush().color(); };
  EXPECT_EQ(shape("full, q8_0"), shape("batch-max, q8_0"));   // the dtype decides the shape
  EXPECT_EQ(std::set({shape("full, f32"), shape("full, q8_0"), shape("batch-max, q4_0")}).size(), 3u);
  EXPECT_EQ(colour("full, f32"), colour("full, q8_0"));       // the policy decides the colour
  EXPECT_NE(colour("full, q8_0"), colour("batch-max, q8_0"));
}

}  // namespace
}  // namespace kvwb
