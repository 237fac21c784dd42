// kvwb-cli with chat prompts: `generate --chat` renders the model's template (the GGUF
// fixture's ChatML) and `run` applies it to `messages` requests; a model without a template is
// a one-line error naming it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "engine/model/chat_prompt.h"
#include "tests/cli/cli_process.h"

namespace {

using kvwb::cli_test::cli;
using kvwb::cli_test::read_all;
using kvwb::cli_test::Result;
using kvwb::cli_test::temp_path;

const std::string kGguf = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/gguf/llama-tied.gguf";
const std::string kHfNoTemplate = std::string(KVWB_SOURCE_DIR) + "/tests/fixtures/models/llama-tied";

TEST(ChatCli, GenerateChatRendersTheTemplateAndDoesNotEchoThePrompt) {
  const Result r = cli("generate --model " + kGguf + " --chat --system 'Be brief.' --prompt 'hello world' -n 4");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("hello world"), std::string::npos) << r.out;
  const auto model = kvwb::load_model(kGguf);
  const size_t tokens = kvwb::chat_tokens(*model, {{"system", "Be brief."}, {"user", "hello world"}}).size();
  EXPECT_NE(r.err.find("prompt: " + std::to_string(tokens) + " tokens"), std::string::npos) << r.err;
}

TEST(ChatCli, ModelWithoutATemplateIsAOneLineError) {
  const Result r = cli("generate --model " + kHfNoTemplate + " --chat --prompt hi");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(kHfNoTemplate + ": has no chat template"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(ChatCli, RunAppliesTheTemplateToMessagesRequests) {
  const std::string workload = temp_path("chat.jsonl");
  std::ofstream(workload) << R"({"id": "c1", "messages": [{"role": "user", "content": "hi"}], "max_new_tokens": 3})"
                          << "\n";
  Result r = cli("run --model " + kGguf + " --workload " + workload + " -q");
  EXPECT_EQ(r.code, 0) << r.err;
  r = cli("run --model " + kHfNoTemplate + " --workload " + workload + " -q");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("c1: " + kHfNoTemplate + ": has no chat template"), std::string::npos) << r.err;
}

}  // namespace
