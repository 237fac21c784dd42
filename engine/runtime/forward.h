#pragma once
// One forward pass of a Llama-family model over a batch of tokens from many sequences, reading
// and appending their KV through the paged cache. Backend-agnostic: it only calls ops.
#include <cstdint>
#include <vector>

#include "engine/model/model.h"
#include "engine/runtime/kv_cache.h"
#include "kernels/backend.h"

namespace kvwb {

struct ForwardBatch {
  std::vector<int32_t> tokens;     // [T]
  std::vector<int32_t> positions;  // [T] absolute positions in their sequences
  std::vector<int32_t> seqs;       // [T] cache sequence of each token; a sequence's tokens are
                                   // consecutive in the batch and continue its cached prefix
  std::vector<uint8_t> observe;    // [T] or empty: queries whose attention feeds the statistics
  std::vector<int32_t> logit_rows; // token indices whose next-token logits are wanted

  void add(int32_t seq, int32_t token, int32_t position, bool want_logits, bool observe_query = false);
  void clear();
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
};

class Forward {
 public:
  Forward(const Model& model, kernels::Backend& backend);
  ~Forward();
  Forward(const Forward&) = delete;
  Forward& operator=(const Forward&) = delete;

  // Appends the batch's tokens to `cache` (every layer and KV head) and runs the model.
  // logits receives [batch.logit_rows.size(), vocab] row-major. Throws Error when the cache
  // has too few free blocks (nothing is appended then).
  void run(const ForwardBatch& batch, KvCache& cache, std::vector<float>& logits);
  // The same, leaving the logits in backend memory: logits() + r * vocab is row r until the
  // next run. Sampling there (Backend::sample) brings only the token id to the host.
  void run(const ForwardBatch& batch, KvCache& cache);
  const float* logits() const { return static_cast<const float*>(logits_.ptr); }

  const Model& model() const { return model_; }

 private:
  struct DeviceBuffer {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  template <typename T>
  T* buffer(DeviceBuffer& b, size_t count);
  template <typename T>
  T* upload(DeviceBuffer& b, const std::vector<T>& host);
  const float* upload_vector(const std::vector<float>& host);

  const Model& model_;
  kernels::Backend& backend_;
  struct Layer {
    kernels::Matrix q, k, v, o, gate, up, down;
    const float* attn_norm = nullptr;
    const float* ffn_norm = nullptr;
    const float* q_bias = nullptr;
    const float* k_bias = nullptr;
    const float* v_bias = nullptr;
    const float* o_bias = nullptr;
  };
  std::vector<Layer> layers_;
  kernels::Matrix embed_, lm_head_;
  const float* final_norm_ = nullptr;
  const float* inv_freq_ = nullptr;
  std::vector<void*> owned_;  // uploaded vectors

  // Activations and per-step tables, grown on demand.
  DeviceBuffer x_, xn_, q_, k_, v_, attn_, tmp_, gate_, up_, rows_, logits_;
  DeviceBuffer tokens_, positions_, token_row_, observe_, slots_, indptr_, indices_, lengths_;
};

}  // namespace kvwb
