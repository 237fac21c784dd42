#include "ui/models/budget_form_model.h"

#include <gtest/gtest.h>

#include <QSignalSpy>

#include "engine/core/error.h"
#include "tests/ui/ui_test_util.h"

namespace kvwb {
namespace {

using Knob = BudgetFormModel::Knob;

RunConfig sample_config() {
  RunConfig c;
  c.model = "demo";
  c.workload = "data/demo-quick.jsonl";
  c.policy.name = "snapkv";
  c.policy.budget_tokens = 96;
  c.policy.budget_scope = "head";
  c.policy.window = 8;
  c.policy.sinks = 2;
  c.policy.protected_recent = 12;
  c.policy.decode_interval = 4;
  c.policy.metric = "l1-avg";  // not a form knob: must survive apply_to
  c.block_size = 8;
  c.prefill_chunk = 64;
  return c;
}

TEST(BudgetFormModel, PassesTheItemModelTester) {
  BudgetFormModel model;
  ui_test::ModelChecker checker(&model);
  model.load(sample_config());
  EXPECT_TRUE(model.set_value(BudgetFormModel::BudgetMode, "ratio"));
  EXPECT_TRUE(model.set_value(BudgetFormModel::BudgetRatio, 0.25));
  EXPECT_FALSE(model.set_value(BudgetFormModel::Window, 0));
  EXPECT_TRUE(checker.failures().isEmpty()) << checker.failures().join("\n").toStdString();
  EXPECT_EQ(model.rowCount(), BudgetFormModel::KnobCount);
  EXPECT_EQ(model.columnCount(), BudgetFormModel::ColumnCount);
}

TEST(BudgetFormModel, LoadThenApplyGivesTheSameKnobsAndKeepsTheRest) {
  BudgetFormModel model;
  const RunConfig c = sample_config();
  model.load(c);
  EXPECT_EQ(model.value(BudgetFormModel::Policy).toString(), "snapkv");
  EXPECT_EQ(model.value(BudgetFormModel::BudgetMode).toString(), "tokens");
  EXPECT_EQ(model.value(BudgetFormModel::BudgetTokens).toLongLong(), 96);
  const RunConfig out = model.apply_to(c);
  EXPECT_EQ(run_config_to_json(out), run_config_to_json(c));

  RunConfig other;  // a different base: the form's knobs land in it, its own fields stay
  other.model = "smollm2";
  const RunConfig mixed = model.apply_to(other);
  EXPECT_EQ(mixed.model, "smollm2");
  EXPECT_EQ(mixed.policy.name, "snapkv");
  EXPECT_EQ(mixed.policy.metric, "l1-avg");
  EXPECT_EQ(mixed.block_size, 8);
  EXPECT_EQ(mixed.prefill_chunk, 64);
}

TEST(BudgetFormModel, RatioModeWritesOnlyTheRatio) {
  BudgetFormModel model;
  model.load(sample_config());
  ASSERT_TRUE(model.set_value(BudgetFormModel::BudgetMode, "ratio"));
  ASSERT_TRUE(model.set_value(BudgetFormModel::BudgetRatio, 0.3));
  const RunConfig c = model.apply_to(sample_config());
  EXPECT_FALSE(c.policy.budget_tokens.has_value());
  ASSERT_TRUE(c.policy.budget_ratio.has_value());
  EXPECT_DOUBLE_EQ(*c.policy.budget_ratio, 0.3);
  // Back to tokens: the token budget typed before is still there.
  ASSERT_TRUE(model.set_value(BudgetFormModel::BudgetMode, "tokens"));
  const RunConfig t = model.apply_to(sample_config());
  EXPECT_EQ(t.policy.budget_tokens.value_or(-1), 96);
  EXPECT_FALSE(t.policy.budget_ratio.has_value());
}

TEST(BudgetFormModel, TheInactiveBudgetRowIsDisabled) {
  BudgetFormModel model;
  model.load(sample_config());
  EXPECT_TRUE(model.flags(model.index(BudgetFormModel::BudgetTokens, 1)) & Qt::ItemIsEnabled);
  EXPECT_FALSE(model.flags(model.index(BudgetFormModel::BudgetRatio, 1)) & Qt::ItemIsEnabled);
  QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
  ASSERT_TRUE(model.set_value(BudgetFormModel::BudgetMode, "ratio"));
  EXPECT_EQ(changed.count(), 1);  // one change covering both budget rows
  EXPECT_FALSE(model.flags(model.index(BudgetFormModel::BudgetTokens, 1)) & Qt::ItemIsEnabled);
  EXPECT_TRUE(model.flags(model.index(BudgetFormModel::BudgetRatio, 1)) & Qt::ItemIsEnabled);
  EXPECT_FALSE(model.flags(model.index(BudgetFormModel::Policy, 0)) & Qt::ItemIsEditable);  // names are not
}

TEST(BudgetFormModel, RefusesValuesTheEngineWouldRejectAndKeepsTheOldOne) {
  ui_test::app();
  BudgetFormModel model;
  model.load(sample_config());
  QSignalSpy edited(&model, &BudgetFormModel::edited);
  struct Case {
    Knob knob;
    QVariant value;
    const char* says;
  } cases[] = {
      {BudgetFormModel::Policy, "lru", "Policy"},
      {BudgetFormModel::BudgetMode, "bytes", "Budget in"},
      {BudgetFormModel::BudgetTokens, 0, "Budget (tokens): must be at least 1"},
      {BudgetFormModel::BudgetRatio, 0.0, "(0, 1]"},
      {BudgetFormModel::BudgetRatio, 1.5, "(0, 1]"},
      {BudgetFormModel::BudgetRatio, "half", "not a number"},
      {BudgetFormModel::Scope, "layer", "Scope"},
      {BudgetFormModel::Span, "sentence", "Span"},
      {BudgetFormModel::ChunkGuidance, "answer", "Chunk guidance"},
      {BudgetFormModel::BlockSize, 2048, "[1, 1024]"},
      {BudgetFormModel::PrefillChunk, 0, "Prefill chunk"},
      {BudgetFormModel::Window, 0, "Window"},
      {BudgetFormModel::Sinks, -1, "Sinks"},
      {BudgetFormModel::ProtectedRecent, -3, "Protected window"},
      {BudgetFormModel::DecodeInterval, 0, "Decode interval"},
      {BudgetFormModel::Window, "many", "not a whole number"},
  };
  const QVariant before_policy = model.value(BudgetFormModel::Policy);
  for (const Case& c : cases) {
    const QVariant before = model.value(c.knob);
    EXPECT_FALSE(model.set_value(c.knob, c.value)) << c.says;
    EXPECT_TRUE(model.last_error().contains(QString::fromLatin1(c.says))) << model.last_error().toStdString();
    EXPECT_EQ(model.value(c.knob), before) << c.says;
  }
  EXPECT_EQ(edited.count(), 0);
  EXPECT_EQ(model.value(BudgetFormModel::Policy), before_policy);
}

TEST(BudgetFormModel, EveryAcceptedFormPassesRunConfigValidation) {
  ui_test::app();
  BudgetFormModel model;
  model.load(sample_config());
  QSignalSpy edited(&model, &BudgetFormModel::edited);
  for (const QString& policy : BudgetFormModel::policy_names()) {
    ASSERT_TRUE(model.set_value(BudgetFormModel::Policy, policy));
    for (const QString& scope : BudgetFormModel::scopes()) {
      ASSERT_TRUE(model.set_value(BudgetFormModel::Scope, scope));
      ASSERT_TRUE(model.set_value(BudgetFormModel::Sinks, 0));
      ASSERT_TRUE(model.set_value(BudgetFormModel::BlockSize, 1024));
      EXPECT_NO_THROW(validate(model.apply_to(sample_config()), "form")) << policy.toStdString();
    }
  }
  EXPECT_EQ(edited.count(), BudgetFormModel::policy_names().size() * 7);  // policy + 2 scopes x 3 knobs
  EXPECT_EQ(edited.back().at(0).toInt(), BudgetFormModel::BlockSize);
  for (const QString& span : BudgetFormModel::spans()) {
    ASSERT_TRUE(model.set_value(BudgetFormModel::Span, span));
    EXPECT_EQ(model.apply_to(sample_config()).policy.span, span.toStdString());
  }
  EXPECT_EQ(BudgetFormModel::chunk_guidances(), (QStringList{"none", "question"}));
  for (const QString& guidance : BudgetFormModel::chunk_guidances()) {
    ASSERT_TRUE(model.set_value(BudgetFormModel::ChunkGuidance, guidance));
    EXPECT_EQ(model.apply_to(sample_config()).policy.chunk_guidance, guidance.toStdString());
  }
}

}  // namespace
}  // namespace kvwb
