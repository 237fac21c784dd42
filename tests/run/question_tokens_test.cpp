// A request's question (Request::question) becomes the last tokens of its prompt: the tokens
// are those of the whole turn rendered at once, the split falls where the question's text starts,
// and a run with the question gives, with full KV, what the concatenated prompt gives.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "engine/core/error.h"
#include "engine/model/chat_prompt.h"
#include "engine/model/model_paths.h"
#include "run/run.h"

namespace kvwb {
namespace {

std::shared_ptr<const Model> smollm2() {
  static const std::shared_ptr<const Model> model = []() -> std::shared_ptr<const Model> {
    try {
      return load_model(resolve_model_path("smollm2"));
    } catch (const Error&) {
      return nullptr;  // not fetched (scripts/fetch-models.sh)
    }
  }();
  return model;
}

std::string text_of(const Model& model, const std::vector<int32_t>& ids, size_t begin, size_t end) {
  const std::vector<int32_t> part(ids.begin() + static_cast<std::ptrdiff_t>(begin), ids.begin() + static_cast<std::ptrdiff_t>(end));
  return model.tokenizer->decode(part, /*skip_special=*/false);
}

TEST(QuestionTokens, ChatTurnSplitsWhereTheQuestionStartsOnSmolLm2) {
  const auto model = smollm2();
  if (!model) GTEST_SKIP() << "SmolLM2 is not in the model cache (run scripts/fetch-models.sh)";
  Request r;
  r.id = "q";
  r.messages = {{"user", "The special magic number for apple-river is: 6561234."}};
  r.question = "\nWhat is the special magic number for apple-river mentioned in the provided text?";
  const PromptTokens t = prompt_tokens(*model, r);
  // The tokens of the whole turn, rendered with the question in the message, encoded at once.
  EXPECT_EQ(t.ids, chat_tokens(*model, {{"user", r.messages[0].content + r.question}}));
  // SmolLM2's ChatML: the question's tokens are its text and the template's close of the turn.
  const size_t split = t.ids.size() - static_cast<size_t>(t.question_tokens);
  EXPECT_EQ(text_of(*model, t.ids, split, t.ids.size()), r.question + "<|im_end|>\n<|im_start|>assistant\n");
  // Before it: SmolLM2's default system turn, then the user turn up to the question.
  EXPECT_EQ(text_of(*model, t.ids, 0, split),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\n" + r.messages[0].content);
}

TEST(QuestionTokens, ATokenAcrossTheBoundaryGoesToTheQuestion) {
  const auto model = smollm2();
  if (!model) GTEST_SKIP() << "SmolLM2 is not in the model cache (run scripts/fetch-models.sh)";
  Request r;
  r.id = "p";
  r.prompt = "The number is 6561234 and the walk";
  r.question = "ing was long.";  // " walking" is one SmolLM2 token: the boundary falls inside it
  Request joined;
  joined.id = "j";
  joined.prompt = r.prompt + r.question;
  const PromptTokens t = prompt_tokens(*model, r);
  EXPECT_EQ(t.ids, prompt_tokens(*model, joined).ids);
  const size_t split = t.ids.size() - static_cast<size_t>(t.question_tokens);
  EXPECT_EQ(text_of(*model, t.ids, split, t.ids.size()), " walking was long.");
  EXPECT_EQ(text_of(*model, t.ids, 0, split).ends_with("The number is 6561234 and the"), true);
}

RunConfig fixture_config() {
  RunConfig c;
  c.model = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";
  c.kv_pool_bytes = int64_t{4} << 20;
  c.block_size = 8;
  c.prefill_chunk = 1;  // the same chunks with and without the split: the same arithmetic
  c.threads = 1;
  return c;
}

std::vector<Request> requests(bool with_question) {
  std::vector<Request> out;
  const std::vector<std::pair<std::string, std::string>> texts = {
      {std::string(40, 'x') + " the tail", " and what then?"}, {"the cat sat on the mat", ", said the dog"}};
  for (size_t i = 0; i < texts.size(); ++i) {
    Request r;
    r.id = "r" + std::to_string(i);
    r.max_new_tokens = 6;
    r.prompt = with_question ? texts[i].first : texts[i].first + texts[i].second;
    if (with_question) r.question = texts[i].second;
    out.push_back(r);
  }
  return out;
}

TEST(QuestionTokens, FullKvRunWithQuestionsGivesTheConcatenatedPromptsOutputs) {
  std::map<std::string, std::vector<int32_t>> expected;
  {
    kvwb::Run concatenated(fixture_config(), requests(false));
    concatenated.run_to_completion();
    for (const RequestResult& r : concatenated.results()) expected[r.id] = r.output_tokens;
  }
  kvwb::Run split(fixture_config(), requests(true));
  split.run_to_completion();
  ASSERT_EQ(split.results().size(), expected.size());
  for (const RequestResult& r : split.results()) {
    EXPECT_EQ(r.output_tokens, expected.at(r.id)) << r.id;
    EXPECT_GT(r.question_tokens, 0) << r.id;
    EXPECT_LT(r.question_tokens, r.prompt_tokens) << r.id;
  }
}

}  // namespace
}  // namespace kvwb
