#include "engine/workload/workload.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/core/error.h"

namespace kvwb {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    load_workload(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Workload, LoadsPromptsAndMessages) {
  const std::string path = write_file("ok.jsonl",
      R"({"id": "a", "prompt": "hello", "max_new_tokens": 8, "task": "niah_single", "answers": ["42"], "metric": "contains_all"})"
      "\n\n"
      R"({"id": 7, "messages": [{"role": "user", "content": "hi"}]})"
      "\n"
      R"({"id": 18446744073709551615, "prompt": "big id"})"  // above INT64_MAX: kept, not wrapped to -1
      "\n");
  const Workload w = load_workload(path);
  ASSERT_EQ(w.requests.size(), 3u);
  EXPECT_EQ(w.requests[0].id, "a");
  EXPECT_EQ(w.requests[0].max_new_tokens, 8);
  EXPECT_EQ(w.requests[0].answers, std::vector<std::string>{"42"});
  EXPECT_EQ(w.requests[0].line, 1);
  EXPECT_EQ(w.requests[1].id, "7");
  EXPECT_EQ(w.requests[1].messages.at(0).content, "hi");
  EXPECT_EQ(w.requests[1].line, 3);
  EXPECT_EQ(w.requests[2].id, "18446744073709551615");
}

TEST(Workload, QuestionIsOptionalAndKeptApartFromThePrompt) {
  const std::string path = write_file("question.jsonl",
      R"({"id": "q", "messages": [{"role": "user", "content": "Text."}], "question": "\nWhat?"})"
      "\n"
      R"({"id": "p", "prompt": "Text.", "question": " What?"})"
      "\n"
      R"({"id": "n", "prompt": "Text."})"
      "\n");
  const Workload w = load_workload(path);
  ASSERT_EQ(w.requests.size(), 3u);
  EXPECT_EQ(w.requests[0].messages.at(0).content, "Text.");
  EXPECT_EQ(w.requests[0].question, "\nWhat?");
  EXPECT_EQ(w.requests[1].prompt, "Text.");
  EXPECT_EQ(w.requests[1].question, " What?");
  EXPECT_EQ(w.requests[2].question, "");
}

TEST(Workload, BadLinesNameFileAndLine) {
  struct Case {
    std::string line;
    std::string expected;
  };
  const Case cases[] = {
      {R"({"id": "a", "prompt": )", "malformed JSON"},
      {R"({"prompt": "x"})", "missing or invalid 'id'"},
      {R"({"id": "a"})", "give exactly one of 'prompt'"},
      {R"({"id": "a", "prompt": "x", "max_new_tokens": 0})", "'max_new_tokens' must be at least 1"},
      {R"({"id": "a", "prompt": "x", "max_new_tokens": 2.5})", "field 'max_new_tokens' must be a whole number, got 2.5"},
      {R"({"id": "a", "prompt": "x", "max_new_tokens": 1e30})", "field 'max_new_tokens' is out of range"},
      {R"({"id": "a", "prompt": "x", "metric": "bleu", "answers": ["y"]})", "unknown metric 'bleu'"},
      {R"({"id": "a", "prompt": "x", "metric": "em"})", "metric 'em' needs 'answers'"},
      {R"({"id": "a", "prompt": "x", "colour": 1})", "unknown key 'colour'"},
      {R"({"id": "a", "messages": [{"role": "robot", "content": "x"}]})", "unknown role 'robot'"},
      {R"([1, 2])", "a request must be a JSON object"},
      {R"({"id": "a", "prompt": "x", "question": 3})", "field 'question'"},
      {R"({"id": "a", "prompt": "x", "question": ""})", "'question' is empty"},
      {R"({"id": "a", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],)"
       R"( "question": "z"})", "must be a user turn (it is 'assistant')"},
  };
  for (const Case& c : cases) {
    const std::string path = write_file("bad.jsonl", "{\"id\": \"ok\", \"prompt\": \"fine\"}\n" + c.line + "\n");
    const std::string message = error_of(path);
    EXPECT_NE(message.find(path + ":2: "), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

TEST(Workload, DuplicateIdsAndEmptyFilesAreErrors) {
  EXPECT_NE(error_of(write_file("dup.jsonl", "{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": \"1\", \"prompt\": \"b\"}\n"))
                .find(":2: duplicate id '1'"),
            std::string::npos);
  EXPECT_NE(error_of(write_file("empty.jsonl", "\n\n")).find("no requests"), std::string::npos);
  EXPECT_NE(error_of(::testing::TempDir() + "/absent.jsonl").find("cannot open workload file"), std::string::npos);
}

TEST(Workload, SkipModeKeepsGoodLinesAndReportsBadOnes) {
  const std::string path = write_file("mixed.jsonl",
      "{\"id\": \"a\", \"prompt\": \"x\"}\nnot json\n{\"id\": \"b\", \"prompt\": \"y\"}\n");
  const Workload w = load_workload(path, /*skip_bad_lines=*/true);
  ASSERT_EQ(w.requests.size(), 2u);
  ASSERT_EQ(w.skipped.size(), 1u);
  EXPECT_EQ(w.skipped[0].line, 2);
  EXPECT_NE(w.skipped[0].problem.find("malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace kvwb
