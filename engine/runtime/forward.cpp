#include "engine/runtime/forward.h"

#include <cmath>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/model/weights_intact.h"
#include "kernels/kv_rotation.h"

namespace kvwb {

void ForwardBatch::add(int32_t seq, int32_t token, int32_t position, bool want_logits, bool observe_query) {
  if (want_logits) logit_rows.push_back(static_cast<int32_t>(tokens.size()));
  tokens.push_back(token);
  positions.push_back(position);
  seqs.push_back(seq);
  // `observe` stays empty until a query observes; then it starts with a 0 for every earlier
  // token (none when this is the first token: the batch's first query counts too).
  if (observe_query || !observe.empty()) {
    observe.resize(tokens.size() - 1, 0);
    observe.push_back(observe_query ? 1 : 0);
  }
}

void ForwardBatch::clear() {
  tokens.clear();
  positions.clear();
  seqs.clear();
  observe.clear();
  logit_rows.clear();
}

Forward::Forward(const Model& model, kernels::Backend& backend) : model_(model), backend_(backend) {
  const ModelWeights& w = model.weights;
  embed_ = BackendMatrix(backend_, w.embed, "token embedding");
  if (w.lm_head.data != w.embed.data) lm_head_ = BackendMatrix(backend_, w.lm_head, "output matrix");
  upload_vector(final_norm_, w.final_norm);
  upload_vector(inv_freq_, rope_inv_freq(model.config));
  for (const LayerWeights& lw : w.layers) {
    Layer& l = layers_.emplace_back(backend_);
    l.q = BackendMatrix(backend_, lw.q, "q weights");
    l.k = BackendMatrix(backend_, lw.k, "k weights");
    l.v = BackendMatrix(backend_, lw.v, "v weights");
    l.o = BackendMatrix(backend_, lw.o, "o weights");
    l.gate = BackendMatrix(backend_, lw.gate, "gate weights");
    l.up = BackendMatrix(backend_, lw.up, "up weights");
    l.down = BackendMatrix(backend_, lw.down, "down weights");
    upload_vector(l.attn_norm, lw.attn_norm);
    upload_vector(l.ffn_norm, lw.ffn_norm);
    upload_vector(l.q_bias, lw.q_bias);
    upload_vector(l.k_bias, lw.k_bias);
    upload_vector(l.v_bias, lw.v_bias);
    upload_vector(l.o_bias, lw.o_bias);
  }
}

Forward::~Forward() = default;

const float* Forward::upload_vector(BackendBuffer& b, const std::vector<float>& host) {
  return host.empty() ? nullptr : b.upload(host);
}

const float* Forward::rotate_into(const float* x, int64_t rows, BackendBuffer& into) {
  float* out = into.get<float>(static_cast<size_t>(rows * model_.config.head_dim));
  backend_.matmul(x, rows, rotation_.get(), nullptr, out);
  return out;
}

void Forward::run(const ForwardBatch& batch, KvCache& cache, std::vector<float>& logits) {
  logits.clear();
  if (batch.size() == 0) return;
  run(batch, cache);
  logits.resize(batch.logit_rows.size() * static_cast<size_t>(model_.config.vocab_size));
  if (!logits.empty()) backend_.copy_to_host(logits.data(), logits_.as<float>(), logits.size() * sizeof(float));
}

void Forward::run(const ForwardBatch& batch, KvCache& cache) {
  const ModelConfig& c = model_.config;
  const int64_t T = batch.size();
  const int64_t R = static_cast<int64_t>(batch.logit_rows.size());
  if (T == 0) return;
  if (static_cast<int64_t>(batch.positions.size()) != T || static_cast<int64_t>(batch.seqs.size()) != T) {
    fail("forward", "batch arrays disagree in length");
  }
  const int64_t H = c.num_heads, KVH = c.num_kv_heads, D = c.head_dim, hidden = c.hidden_size;
  if (c.sliding_window > 0) {
    for (int32_t pos : batch.positions) {
      if (pos >= c.sliding_window) {
        fail(model_.path, "sliding-window attention ({} tokens) is not supported past the window; position {}",
             c.sliding_window, pos);
      }
    }
  }
  if (cache.shape().num_kv_heads != KVH || cache.shape().head_dim != D || cache.shape().num_layers != c.num_layers) {
    fail("forward", "kv cache shape does not match the model");
  }

  // Sequences in order of first appearance, with the number of new tokens of each.
  std::vector<int32_t> seq_list;
  std::vector<int64_t> seq_new;
  std::vector<int32_t> token_row(static_cast<size_t>(T));
  std::unordered_map<int32_t, int32_t> row_of;
  for (int64_t t = 0; t < T; ++t) {
    const int32_t s = batch.seqs[static_cast<size_t>(t)];
    auto [it, inserted] = row_of.try_emplace(s, static_cast<int32_t>(seq_list.size()));
    if (inserted) {
      seq_list.push_back(s);
      seq_new.push_back(0);
    } else if (batch.seqs[static_cast<size_t>(t - 1)] != s) {
      fail("forward", "tokens of sequence {} are not consecutive in the batch", s);
    }
    ++seq_new[static_cast<size_t>(it->second)];
    token_row[static_cast<size_t>(t)] = it->second;
  }
  int64_t blocks_needed = 0;
  for (size_t i = 0; i < seq_list.size(); ++i) blocks_needed += cache.blocks_to_append(seq_list[i], seq_new[i]);
  if (blocks_needed > cache.free_blocks()) {
    fail("kv cache", "out of blocks: the step needs {} more, {} are free", blocks_needed, cache.free_blocks());
  }
  for (size_t i = 0; i < seq_list.size(); ++i) cache.append(seq_list[i], seq_new[i]);

  const int32_t* d_tokens = tokens_.upload(batch.tokens);
  const int32_t* d_pos = positions_.upload(batch.positions);
  const int32_t* d_row = token_row_.upload(token_row);
  const uint8_t* d_observe = batch.observe.empty() ? nullptr : observe_.upload(batch.observe);

  float* x = x_.get<float>(static_cast<size_t>(T * hidden));
  float* xn = xn_.get<float>(static_cast<size_t>(T * hidden));
  float* q = q_.get<float>(static_cast<size_t>(T * H * D));
  float* k = k_.get<float>(static_cast<size_t>(T * KVH * D));
  float* v = v_.get<float>(static_cast<size_t>(T * KVH * D));
  float* attn = attn_.get<float>(static_cast<size_t>(T * H * D));
  float* tmp = tmp_.get<float>(static_cast<size_t>(T * hidden));
  float* gate = gate_.get<float>(static_cast<size_t>(T * c.intermediate_size));
  float* up = up_.get<float>(static_cast<size_t>(T * c.intermediate_size));

  const auto vec = [](const BackendBuffer& b) { return b.as<const float>(); };  // null when never uploaded
  kernels::AttentionBatch ab;
  ab.num_tokens = static_cast<int32_t>(T);
  ab.num_heads = static_cast<int32_t>(H);
  ab.token_seq = d_row;
  ab.token_pos = d_pos;
  ab.observe = d_observe;
  ab.scale = 1.0f / std::sqrt(static_cast<float>(D));

  // A rotated cache (kernels/kv_rotation.h): R for q, k and v, Rᵀ for the attention output,
  // made at the first such step.
  const bool rotated = cache.shape().kv_rotated;
  if (rotated && rotation_.get().data == nullptr) {
    rotation_host_ = kernels::kv_rotation_matrix(D);
    rotation_t_host_.resize(rotation_host_.size());
    for (int64_t i = 0; i < D; ++i) {
      for (int64_t j = 0; j < D; ++j) rotation_t_host_[static_cast<size_t>(j * D + i)] = rotation_host_[static_cast<size_t>(i * D + j)];
    }
    rotation_ = BackendMatrix(backend_, {kernels::DType::F32, D, D, rotation_host_.data()}, "KV rotation");
    rotation_t_ = BackendMatrix(backend_, {kernels::DType::F32, D, D, rotation_t_host_.data()}, "KV rotation");
  }

  // Plan once per step, run per layer (FlashInfer's split): every layer's block tables and the
  // slots its new K/V go to are built on the host and uploaded in one copy each.
  const auto csr_rows = static_cast<int64_t>(seq_list.size()) * KVH;
  std::vector<int32_t> indptr, indices, lengths, slots(static_cast<size_t>(c.num_layers * T * KVH));
  std::vector<size_t> indices_at(static_cast<size_t>(c.num_layers));
  LayerCsr csr;
  for (int64_t li = 0; li < c.num_layers; ++li) {
    int64_t t = 0;  // the new tokens are the last seq_new slots of every (seq, head) table
    for (size_t i = 0; i < seq_list.size(); ++i) {
      for (int64_t j = 0; j < seq_new[i]; ++j, ++t) {
        for (int64_t h = 0; h < KVH; ++h) {
          const int64_t index = cache.length(seq_list[i], li, h) - seq_new[i] + j;
          slots[static_cast<size_t>((li * T + t) * KVH + h)] = cache.slot(seq_list[i], li, h, index);
        }
      }
    }
    cache.build_csr(seq_list, li, csr);
    indices_at[static_cast<size_t>(li)] = indices.size();
    indptr.insert(indptr.end(), csr.indptr.begin(), csr.indptr.end());
    indices.insert(indices.end(), csr.indices.begin(), csr.indices.end());
    lengths.insert(lengths.end(), csr.lengths.begin(), csr.lengths.end());
  }
  const int32_t* d_indptr = indptr_.upload(indptr);
  const int32_t* d_indices = indices_.upload(indices);
  const int32_t* d_lengths = lengths_.upload(lengths);
  const int32_t* d_all_slots = slots_.upload(slots);

  backend_.embedding(embed_.get(), d_tokens, T, x);
  for (int64_t li = 0; li < c.num_layers; ++li) {
    const Layer& L = layers_[static_cast<size_t>(li)];
    kernels::PagedKv kv = cache.pool_view();
    kv.indptr = d_indptr + li * (csr_rows + 1);
    kv.indices = d_indices + indices_at[static_cast<size_t>(li)];
    kv.lengths = d_lengths + li * csr_rows;
    const int32_t* d_slots = d_all_slots + li * T * KVH;

    backend_.rmsnorm(x, vec(L.attn_norm), T, hidden, c.rms_norm_eps, xn);
    backend_.matmul(xn, T, L.q.get(), vec(L.q_bias), q);
    backend_.matmul(xn, T, L.k.get(), vec(L.k_bias), k);
    backend_.matmul(xn, T, L.v.get(), vec(L.v_bias), v);
    backend_.rope(q, T, H, D, d_pos, vec(inv_freq_), model_.weights.rope_style);
    backend_.rope(k, T, KVH, D, d_pos, vec(inv_freq_), model_.weights.rope_style);
    // A rotated cache stores K and V times R and takes queries times R; its attention output,
    // in the rotated basis too, comes back through Rᵀ.
    const float* q_in = rotated ? rotate_into(q, T * H, q_rot_) : q;
    const float* k_in = rotated ? rotate_into(k, T * KVH, k_rot_) : k;
    const float* v_in = rotated ? rotate_into(v, T * KVH, v_rot_) : v;
    float* attn_out = rotated ? attn_rot_.get<float>(static_cast<size_t>(T * H * D)) : attn;
    backend_.kv_write(kv, k_in, v_in, T, d_slots, d_pos);
    backend_.paged_attention(ab, q_in, kv, attn_out);
    if (rotated) backend_.matmul(attn_out, T * H, rotation_t_.get(), nullptr, attn);
    backend_.matmul(attn, T, L.o.get(), vec(L.o_bias), tmp);
    backend_.add(x, tmp, T * hidden);

    backend_.rmsnorm(x, vec(L.ffn_norm), T, hidden, c.rms_norm_eps, xn);
    backend_.matmul(xn, T, L.gate.get(), nullptr, gate);
    backend_.matmul(xn, T, L.up.get(), nullptr, up);
    backend_.swiglu(gate, up, T * c.intermediate_size, gate);
    backend_.matmul(gate, T, L.down.get(), nullptr, tmp);
    backend_.add(x, tmp, T * hidden);
  }

  if (R == 0) {
    check_weights_intact(model_.weights);
    return;
  }
  float* rows = rows_.get<float>(static_cast<size_t>(R * hidden));
  for (int64_t r = 0; r < R; ++r) {
    const int64_t src = batch.logit_rows[static_cast<size_t>(r)];
    if (src < 0 || src >= T) fail("forward", "logit row {} is outside the batch of {}", src, T);
    backend_.copy(rows + r * hidden, x + src * hidden, static_cast<size_t>(hidden) * sizeof(float));
  }
  backend_.rmsnorm(rows, vec(final_norm_), R, hidden, c.rms_norm_eps, xn);
  float* d_logits = logits_.get<float>(static_cast<size_t>(R * c.vocab_size));
  backend_.matmul(xn, R, lm_head_.get().data != nullptr ? lm_head_.get() : embed_.get(), nullptr, d_logits);
  // A weight file that shrank under its mapping read as zeros in this pass: stop here, before
  // anyone uses these logits (mapping_guard.h).
  check_weights_intact(model_.weights);
}

}  // namespace kvwb
