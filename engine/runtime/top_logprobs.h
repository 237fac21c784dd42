#pragma once
// The k most likely next tokens of one logits row with their log-probabilities: what
// `kvwb-cli eval --top-logprobs K` writes per generated token, so that two runs (another KV
// dtype, a policy) can be compared by the KL of their next-token distributions and by the
// top-2 margin of the exactness rule (bench/compare_results.py).
#include <cstdint>
#include <vector>

namespace kvwb {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;  // log softmax(logits)[id], computed in double
};

// The min(k, vocab) largest entries of log_softmax(logits[0..vocab)), largest first; equal
// logits in ascending id order (as the greedy sampler breaks ties).
std::vector<TokenLogprob> top_logprobs(const float* logits, int64_t vocab, int64_t k);

}  // namespace kvwb
