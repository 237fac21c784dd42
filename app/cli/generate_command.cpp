// kvwb-cli generate: one prompt, text streamed to stdout, speeds on stderr.
#include <cstdio>
#include <memory>
#include <string>

#include "app/cli/commands.h"
#include "engine/model/chat_prompt.h"
#include "engine/model/model.h"
#include "engine/model/model_paths.h"
#include "engine/model/random_model.h"
#include "engine/runtime/generator.h"
#include "kernels/backend.h"
#include "run/run.h"

namespace kvwb::cli {
namespace {

struct GenerateArgs {
  std::string model = "demo";
  std::string random_weights;  // an HF config.json: random weights of its shape instead of --model
  std::string weights_dtype = "stored";
  std::string prompt;
  int64_t max_new_tokens = 64;
  float temperature = 0.0f;
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::string backend = "cpu";
  int threads = 0;
  int64_t prefill_chunk = 128;
  bool no_bos = false;
  bool chat = false;    // render the prompt as one user message with the model's chat template
  std::string system;   // with --chat: an optional system message
};

int run_generate(const GenerateArgs& args) {
  const std::string path = args.random_weights.empty() ? resolve_model_path(args.model) : args.random_weights;
  auto backend = make_named_backend(args.backend, args.threads);  // a missing GPU fails before the load
  std::unique_ptr<Model> model =
      args.random_weights.empty() ? load_model(path) : load_random_model(args.random_weights, args.weights_dtype);
  const Tokenizer& tok = *model->tokenizer;
  std::vector<ChatTurn> turns;
  if (!args.system.empty()) turns.push_back({"system", args.system});
  turns.push_back({"user", args.prompt});
  const std::vector<int32_t> prompt =
      args.chat ? chat_tokens(*model, turns) : tok.encode(args.prompt, !args.no_bos && tok.add_bos_by_default());

  GenerationOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.temperature = args.temperature;
  options.top_p = args.top_p;
  options.seed = args.seed;
  options.prefill_chunk = args.prefill_chunk;

  StreamingDecoder decoder(tok);
  // A plain prompt is continued, so it is echoed; a chat prompt is answered.
  if (!args.chat) std::fputs(args.prompt.c_str(), stdout);
  std::fflush(stdout);
  const GenerationResult r = generate(*model, *backend, prompt, options, [&](int32_t id) {
    if (tok.is_special(id)) return;
    std::fputs(decoder.push(id).c_str(), stdout);
    std::fflush(stdout);
  });
  std::fputs(decoder.flush().c_str(), stdout);
  std::fputs("\n", stdout);
  const double decode_tps = r.decode_seconds > 0 ? static_cast<double>(r.tokens.size()) / r.decode_seconds : 0.0;
  const double prompt_tps = r.prefill_seconds > 0 ? static_cast<double>(r.prompt_tokens) / r.prefill_seconds : 0.0;
  std::fprintf(stderr, "prompt: %lld tokens, %.1f tok/s | decode: %zu tokens, %.1f tok/s | model %s on %s\n",
               static_cast<long long>(r.prompt_tokens), prompt_tps, r.tokens.size(), decode_tps, path.c_str(),
               backend->name().c_str());
  return 0;
}

}  // namespace

Command add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* sub = app.add_subcommand("generate", "Generate text from one prompt, streaming it");
  sub->add_option("--model,-m", args->model, "Model directory, .gguf file, or shorthand (demo, smollm2)")
      ->capture_default_str();
  sub->add_option("--random-weights", args->random_weights,
                  "HF config.json: a model of its shape with random weights and a byte tokenizer (benchmarks)");
  sub->add_option("--weights-dtype", args->weights_dtype, "Dtype of --random-weights: stored (= bf16), bf16, f16 or f32")
      ->capture_default_str()->check(CLI::IsMember({"stored", "bf16", "f16", "f32"}));
  sub->add_option("--prompt,-p", args->prompt, "Prompt text")->required();
  sub->add_option("--max-new-tokens,-n", args->max_new_tokens, "Tokens to generate")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_option("--temperature,-t", args->temperature, "0 = greedy")
      ->capture_default_str()->check(CLI::Range(0.0f, 100.0f));
  sub->add_option("--top-p", args->top_p, "Nucleus sampling mass")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--seed", args->seed, "Sampling seed")->capture_default_str();
  sub->add_option("--backend", args->backend, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--threads", args->threads, "CPU threads (0 = all cores)")->capture_default_str();
  sub->add_option("--prefill-chunk", args->prefill_chunk, "Prompt tokens per forward pass")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_flag("--no-bos", args->no_bos, "Do not prepend the BOS token");
  sub->add_flag("--chat", args->chat, "Apply the model's chat template (the prompt is a user message)");
  sub->add_option("--system", args->system, "With --chat: a system message");
  return {sub, [args] { return run_generate(*args); }};
}

}  // namespace kvwb::cli
