#include "ui/controller/try_runner.h"

#include <optional>
#include <utility>

#include "engine/core/error.h"
#include "engine/runtime/generator.h"
#include "engine/workload/fidelity.h"
#include "engine/workload/workload.h"
#include "profiler/clock.h"
#include "run/run.h"

namespace kvwb {
namespace {

constexpr const char* kTryId = "try";

}  // namespace

// Everything the worker does; it talks to the runner only through queued calls.
struct TryRunner::Job {
  TryRunner* runner;
  WorkerJob job;
  TryRequest request;
  std::shared_ptr<ModelCache> models;

  template <typename F>
  void post(F f) const {
    job.post([r = runner, f] { f(r); });
  }

  void run() const {
    std::shared_ptr<const Model> model = models->get(request.config.model);
    std::vector<int32_t> policy_tokens = run_compressed(model);
    job.throw_if_cancelled();
    std::vector<int32_t> full_tokens = run_full(*model);
    const double agreement = token_agreement(policy_tokens, full_tokens);
    post([agreement](TryRunner* r) { emit r->finished(agreement); });
  }

  // The prompt as a one-request workload.
  Request as_request() const {
    Request req;
    req.id = kTryId;
    req.max_new_tokens = request.max_new_tokens;
    req.prompt = request.chat ? "" : request.prompt;
    if (request.chat) req.messages.push_back({"user", request.prompt});
    return req;
  }

  std::vector<int32_t> run_compressed(const std::shared_ptr<const Model>& model) const {
    RunConfig c = request.config;
    c.record.clear();
    c.trace_sequences = {kTryId};
    const Request req = as_request();
    const auto prompt_tokens = static_cast<int64_t>(request_tokens(*model, req).size());
    Run run(c, {req}, model);
    const ModelConfig& m = model->config;
    post([prompt_tokens, layers = static_cast<int>(m.num_layers), heads = static_cast<int>(m.num_kv_heads)](TryRunner* r) {
      emit r->started(prompt_tokens, layers, heads);
    });

    int64_t prefilled = 0, generated = 0, evicted = 0;
    EvictionBatch batch;
    double last_post = 0;
    std::optional<RequestResult> answer;
    while (!run.done()) {
      job.throw_if_cancelled();
      RunStep step = run.step();
      if (!step.finished.empty()) answer = std::move(step.finished.front());
      StepStats& s = step.stats;
      const bool was_prefilling = prefilled < prompt_tokens;
      prefilled += s.prefill_tokens;
      generated += s.decode_tokens + (was_prefilling && prefilled >= prompt_tokens ? 1 : 0);
      evicted += s.evicted_slots;
      for (EvictionRecord& e : s.evictions) batch.records.push_back(std::move(e));
      const double now = now_seconds();
      if (now - last_post >= 1.0 / 30 || run.done()) {  // the GUI needs no more than a frame's worth
        last_post = now;
        post([step = s.step, prefilled, generated, evicted, b = std::exchange(batch, {})](TryRunner* r) {
          if (!b.records.empty()) emit r->evictions(b);
          emit r->policyProgress(step, prefilled, generated, evicted);
        });
      }
    }
    if (!answer) fail("try", "the run finished without an answer");
    const RequestResult& result = *answer;
    post([text = QString::fromStdString(result.output_text), n = static_cast<qint64>(result.output_tokens.size())](
             TryRunner* r) { emit r->policyAnswer(text, n); });
    return result.output_tokens;
  }

  std::vector<int32_t> run_full(const Model& model) const {
    const std::vector<int32_t> prompt = request_tokens(model, as_request());
    std::unique_ptr<kernels::Backend> backend = make_named_backend(request.config);
    GenerationOptions o;
    o.max_new_tokens = request.max_new_tokens;
    o.temperature = static_cast<float>(request.config.sampling.temperature);
    o.top_p = static_cast<float>(request.config.sampling.top_p);
    o.seed = request.config.sampling.seed;
    o.prefill_chunk = request.config.prefill_chunk;
    o.block_size = request.config.block_size;
    StreamingDecoder decoder(*model.tokenizer, /*skip_special=*/true);
    GenerationResult g = generate(model, *backend, prompt, o, [&](int32_t id) {
      job.throw_if_cancelled();
      const std::string piece = decoder.push(id);
      if (!piece.empty()) post([p = QString::fromStdString(piece)](TryRunner* r) { emit r->fullPiece(p); });
    });
    const std::string rest = decoder.flush();
    if (!rest.empty()) post([p = QString::fromStdString(rest)](TryRunner* r) { emit r->fullPiece(p); });
    post([text = QString::fromStdString(model.tokenizer->decode(g.tokens, true)),
          n = static_cast<qint64>(g.tokens.size())](TryRunner* r) { emit r->fullAnswer(text, n); });
    return g.tokens;
  }
};

TryRunner::TryRunner(std::shared_ptr<ModelCache> models, QObject* parent)
    : QObject(parent), models_(std::move(models)) {
  qRegisterMetaType<kvwb::EvictionBatch>();
}

void TryRunner::cancel() { worker_.cancel(); }

bool TryRunner::busy() const { return worker_.busy(); }

void TryRunner::start(const TryRequest& request) {
  // The old job stops at its next token or step; its reports are dropped.
  worker_.start([this, request, models = models_](const WorkerJob& job) { Job{this, job, request, models}.run(); },
                [this](const QString& m) { emit failed(m); });
}

}  // namespace kvwb
