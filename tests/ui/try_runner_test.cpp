// The Try panel's runner on the fixture model: the compressed answer is the engine's answer for
// a one-request workload, the full-KV answer streams and equals single-sequence generation,
// the traced evictions respect the protected sink tokens, and a new try replaces one still going.
#include "ui/controller/try_runner.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/runtime/generator.h"
#include "run/run.h"
#include "tests/ui/ui_test_util.h"
#include "engine/workload/fidelity.h"

namespace kvwb {
namespace {

TEST(TryRunner, CompressedAndFullKvAnswersOfOnePrompt) {
  ui_test::app();
  ui_test::TempDir dir;
  const std::string prompt = "apple river stone cloud lamp tiger maple piano apple river stone cloud lamp tiger";
  RunConfig config = ui_test::fixture_config("");
  config.policy.name = "streaming-llm";
  config.policy.budget_tokens = 8;
  config.policy.sinks = 2;
  config.policy.protected_recent = 2;
  config.policy.decode_interval = 1;
  auto models = std::make_shared<ModelCache>();
  TryRunner runner(models);

  QString policy_text, full_text, streamed;
  qint64 policy_tokens = -1, prompt_tokens = -1;
  double agreement = -1;
  std::vector<EvictionRecord> records;
  QStringList failures;
  QObject::connect(&runner, &TryRunner::started, [&](qint64 n, int, int) { prompt_tokens = n; });
  QObject::connect(&runner, &TryRunner::evictions, [&](const EvictionBatch& b) {
    records.insert(records.end(), b.records.begin(), b.records.end());
  });
  QObject::connect(&runner, &TryRunner::policyAnswer, [&](const QString& t, qint64 n) {
    policy_text = t;
    policy_tokens = n;
  });
  QObject::connect(&runner, &TryRunner::fullPiece, [&](const QString& p) { streamed += p; });
  QObject::connect(&runner, &TryRunner::fullAnswer, [&](const QString& t, qint64) { full_text = t; });
  QObject::connect(&runner, &TryRunner::finished, [&](double a) { agreement = a; });
  QObject::connect(&runner, &TryRunner::failed, [&](const QString& m) { failures << m; });

  TryRequest request{config, prompt, false, 24};
  runner.start(request);
  ASSERT_TRUE(ui_test::wait_until([&] { return agreement >= 0 || !failures.isEmpty(); }));
  ASSERT_TRUE(failures.isEmpty()) << failures.join("; ").toStdString();

  // Full KV: what single-sequence generation gives, streamed piece by piece.
  std::shared_ptr<const Model> model = models->get(config.model);
  const std::vector<int32_t> ids = model->tokenizer->encode(prompt, model->tokenizer->add_bos_by_default());
  EXPECT_EQ(prompt_tokens, static_cast<qint64>(ids.size()));
  auto backend = make_named_backend("cpu", 1);
  GenerationOptions o;
  o.max_new_tokens = 24;
  o.prefill_chunk = config.prefill_chunk;
  o.block_size = config.block_size;
  const GenerationResult g = generate(*model, *backend, ids, o);
  EXPECT_EQ(full_text.toStdString(), model->tokenizer->decode(g.tokens, true));
  EXPECT_EQ(streamed, full_text);

  // Compressed: the engine's answer for the same prompt as a one-request workload.
  const std::string workload = dir.file("one.jsonl");
  std::ofstream(workload) << nlohmann::json{{"id", "x"}, {"prompt", prompt}, {"max_new_tokens", 24}}.dump() << "\n";
  RunConfig direct = config;
  direct.workload = workload;
  kvwb::Run run(direct, model);
  run.run_to_completion();
  ASSERT_EQ(run.results().size(), 1u);
  EXPECT_EQ(policy_text.toStdString(), run.results()[0].output_text);
  EXPECT_EQ(policy_tokens, static_cast<qint64>(run.results()[0].output_tokens.size()));
  EXPECT_DOUBLE_EQ(agreement, token_agreement(run.results()[0].output_tokens, g.tokens));

  // The prompt is longer than the budget: evictions happened, never of a sink token.
  ASSERT_FALSE(records.empty());
  for (const EvictionRecord& r : records) {
    for (int32_t p : r.positions) EXPECT_GE(p, 2) << "a sink was evicted";
  }
}

TEST(TryRunner, ASecondStartReplacesTheFirstTry) {
  ui_test::app();
  RunConfig config = ui_test::fixture_config("");
  TryRunner runner(std::make_shared<ModelCache>());
  QStringList answers;
  int finished = 0;
  QObject::connect(&runner, &TryRunner::fullAnswer, [&](const QString& t, qint64) { answers << t; });
  QObject::connect(&runner, &TryRunner::finished, [&](double) { ++finished; });
  runner.start(TryRequest{config, "apple river stone cloud lamp", false, 400});
  runner.start(TryRequest{config, "tiger maple piano", false, 6});  // at once: the first is cancelled
  ASSERT_TRUE(ui_test::wait_until([&] { return finished > 0; }));
  ui_test::wait_until([] { return false; }, 200);  // anything the first try might still send
  EXPECT_EQ(finished, 1);
  ASSERT_EQ(answers.size(), 1);  // only the second try's answer arrives

  std::shared_ptr<const Model> model = ModelCache().get(config.model);
  auto backend = make_named_backend("cpu", 1);
  GenerationOptions o;
  o.max_new_tokens = 6;
  o.prefill_chunk = config.prefill_chunk;
  o.block_size = config.block_size;
  const GenerationResult g =
      generate(*model, *backend, model->tokenizer->encode("tiger maple piano", model->tokenizer->add_bos_by_default()), o);
  EXPECT_EQ(answers.front().toStdString(), model->tokenizer->decode(g.tokens, true));
}

TEST(TryRunner, AModelThatCannotLoadFails) {
  ui_test::app();
  RunConfig config = ui_test::fixture_config("");
  config.model = "/nonexistent/kvwb-model";
  TryRunner runner(std::make_shared<ModelCache>());
  QStringList failures;
  QObject::connect(&runner, &TryRunner::failed, [&](const QString& m) { failures << m; });
  runner.start(TryRequest{config, "hello", false, 4});
  ASSERT_TRUE(ui_test::wait_until([&] { return !failures.isEmpty(); }));
  EXPECT_TRUE(failures.front().contains("/nonexistent/kvwb-model")) << failures.front().toStdString();
}

}  // namespace
}  // namespace kvwb
