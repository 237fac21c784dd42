#pragma once
// One forward pass of a Llama-family model over a batch of tokens from many sequences, reading
// and appending their KV through the paged cache. Backend-agnostic: it only calls ops.
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/model/model.h"
#include "engine/runtime/backend_buffer.h"
#include "engine/runtime/backend_matrix.h"
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
  const float* logits() const { return logits_.as<const float>(); }

  const Model& model() const { return model_; }

 private:
  // Every piece of backend memory Forward uses is owned (BackendMatrix, BackendBuffer): a failed
  // allocation half-way through leaks nothing and frees nothing twice.
  const float* upload_vector(BackendBuffer& b, const std::vector<float>& host);
  // x[rows, head_dim] with every row times the KV rotation R, in `into`.
  const float* rotate_into(const float* x, int64_t rows, BackendBuffer& into);

  const Model& model_;
  kernels::Backend& backend_;
  struct Layer {
    BackendMatrix q, k, v, o, gate, up, down;
    BackendBuffer attn_norm, ffn_norm, q_bias, k_bias, v_bias, o_bias;
    explicit Layer(kernels::Backend& b)
        : attn_norm(b, "norm weights"), ffn_norm(b, "norm weights"), q_bias(b, "bias"), k_bias(b, "bias"),
          v_bias(b, "bias"), o_bias(b, "bias") {}
  };
  std::deque<Layer> layers_;  // a deque: a Layer is not movable (its buffers are not)
  BackendMatrix embed_, lm_head_;  // lm_head_ empty when tied to the embedding
  BackendBuffer final_norm_{backend_, "norm weights"}, inv_freq_{backend_, "RoPE frequencies"};
  // The KV rotation R and Rᵀ (kernels/kv_rotation.h), made at the first step of a rotated cache.
  // The host copies stay: a backend may use host memory in place (the CPU backend does).
  std::vector<float> rotation_host_, rotation_t_host_;
  BackendMatrix rotation_, rotation_t_;

  // Activations and per-step tables, grown on demand.
  static constexpr const char* kActivations = "forward activations";
  static constexpr const char* kTables = "forward block tables";
  BackendBuffer x_{backend_, kActivations}, xn_{backend_, kActivations}, q_{backend_, kActivations},
      k_{backend_, kActivations}, v_{backend_, kActivations}, attn_{backend_, kActivations},
      tmp_{backend_, kActivations}, gate_{backend_, kActivations}, up_{backend_, kActivations},
      rows_{backend_, kActivations}, logits_{backend_, "logits"};
  // The same in the rotated basis, used only by a rotated cache.
  BackendBuffer q_rot_{backend_, kActivations}, k_rot_{backend_, kActivations}, v_rot_{backend_, kActivations},
      attn_rot_{backend_, kActivations};
  BackendBuffer tokens_{backend_, kTables}, positions_{backend_, kTables}, token_row_{backend_, kTables},
      observe_{backend_, kTables}, slots_{backend_, kTables}, indptr_{backend_, kTables}, indices_{backend_, kTables},
      lengths_{backend_, kTables};
};

}  // namespace kvwb
