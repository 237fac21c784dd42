#include "engine/runtime/forward.h"

#include <cmath>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/model/weights_intact.h"

namespace kvwb {

void ForwardBatch::add(int32_t seq, int32_t token, int32_t position, bool want_logits, bool observe_query) {
  if (want_logits) logit_rows.push_back(static_cast<int32_t>(tokens.size()));
  tokens.push_back(token);
  positions.push_back(position);
  seqs.push_back(seq);
  if (observe_query && observe.empty()) observe.assign(tokens.size() - 1, 0);
  if (!observe.empty()) observe.push_back(observe_query ? 1 : 0);
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
  embed_ = backend_.upload(w.embed);
  lm_head_ = (w.lm_head.data == w.embed.data) ? embed_ : backend_.upload(w.lm_head);
  final_norm_ = upload_vector(w.final_norm);
  inv_freq_ = upload_vector(rope_inv_freq(model.config));
  layers_.reserve(w.layers.size());
  for (const LayerWeights& lw : w.layers) {
    Layer l;
    l.q = backend_.upload(lw.q);
    l.k = backend_.upload(lw.k);
    l.v = backend_.upload(lw.v);
    l.o = backend_.upload(lw.o);
    l.gate = backend_.upload(lw.gate);
    l.up = backend_.upload(lw.up);
    l.down = backend_.upload(lw.down);
    l.attn_norm = upload_vector(lw.attn_norm);
    l.ffn_norm = upload_vector(lw.ffn_norm);
    l.q_bias = upload_vector(lw.q_bias);
    l.k_bias = upload_vector(lw.k_bias);
    l.v_bias = upload_vector(lw.v_bias);
    l.o_bias = upload_vector(lw.o_bias);
    layers_.push_back(l);
  }
}

Forward::~Forward() {
  for (void* p : owned_) backend_.free(p);
  for (DeviceBuffer* b : {&x_, &xn_, &q_, &k_, &v_, &attn_, &tmp_, &gate_, &up_, &rows_, &logits_, &tokens_,
                          &positions_, &token_row_, &observe_, &slots_, &indptr_, &indices_, &lengths_}) {
    if (b->ptr != nullptr) backend_.free(b->ptr);
  }
}

const float* Forward::upload_vector(const std::vector<float>& host) {
  if (host.empty()) return nullptr;
  void* p = backend_.alloc(host.size() * sizeof(float));
  backend_.copy_from_host(p, host.data(), host.size() * sizeof(float));
  owned_.push_back(p);
  return static_cast<const float*>(p);
}

template <typename T>
T* Forward::buffer(DeviceBuffer& b, size_t count) {
  const size_t bytes = std::max<size_t>(count, 1) * sizeof(T);
  if (b.bytes < bytes) {
    if (b.ptr != nullptr) backend_.free(b.ptr);
    const size_t grown = std::max(bytes, b.bytes * 3 / 2);  // amortise regrowth
    b.ptr = backend_.alloc(grown);
    b.bytes = grown;
  }
  return static_cast<T*>(b.ptr);
}

template <typename T>
T* Forward::upload(DeviceBuffer& b, const std::vector<T>& host) {
  T* p = buffer<T>(b, host.size());
  if (!host.empty()) backend_.copy_from_host(p, host.data(), host.size() * sizeof(T));
  return p;
}

void Forward::run(const ForwardBatch& batch, KvCache& cache, std::vector<float>& logits) {
  logits.clear();
  if (batch.size() == 0) return;
  run(batch, cache);
  logits.resize(batch.logit_rows.size() * static_cast<size_t>(model_.config.vocab_size));
  if (!logits.empty()) backend_.copy_to_host(logits.data(), logits_.ptr, logits.size() * sizeof(float));
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

  const int32_t* d_tokens = upload(tokens_, batch.tokens);
  const int32_t* d_pos = upload(positions_, batch.positions);
  const int32_t* d_row = upload(token_row_, token_row);
  const uint8_t* d_observe = batch.observe.empty() ? nullptr : upload(observe_, batch.observe);

  float* x = buffer<float>(x_, static_cast<size_t>(T * hidden));
  float* xn = buffer<float>(xn_, static_cast<size_t>(T * hidden));
  float* q = buffer<float>(q_, static_cast<size_t>(T * H * D));
  float* k = buffer<float>(k_, static_cast<size_t>(T * KVH * D));
  float* v = buffer<float>(v_, static_cast<size_t>(T * KVH * D));
  float* attn = buffer<float>(attn_, static_cast<size_t>(T * H * D));
  float* tmp = buffer<float>(tmp_, static_cast<size_t>(T * hidden));
  float* gate = buffer<float>(gate_, static_cast<size_t>(T * c.intermediate_size));
  float* up = buffer<float>(up_, static_cast<size_t>(T * c.intermediate_size));

  kernels::AttentionBatch ab;
  ab.num_tokens = static_cast<int32_t>(T);
  ab.num_heads = static_cast<int32_t>(H);
  ab.token_seq = d_row;
  ab.token_pos = d_pos;
  ab.observe = d_observe;
  ab.scale = 1.0f / std::sqrt(static_cast<float>(D));

  backend_.embedding(embed_, d_tokens, T, x);
  std::vector<int32_t> slots(static_cast<size_t>(T * KVH));
  std::vector<int64_t> first_new(seq_list.size());
  LayerCsr csr;
  for (int64_t li = 0; li < c.num_layers; ++li) {
    const Layer& L = layers_[static_cast<size_t>(li)];
    // Where this layer's new K/V go: the last seq_new slots of every (seq, head) table.
    int64_t t = 0;
    for (size_t i = 0; i < seq_list.size(); ++i) {
      for (int64_t j = 0; j < seq_new[i]; ++j, ++t) {
        for (int64_t h = 0; h < KVH; ++h) {
          const int64_t index = cache.length(seq_list[i], li, h) - seq_new[i] + j;
          slots[static_cast<size_t>(t * KVH + h)] = cache.slot(seq_list[i], li, h, index);
        }
      }
    }
    cache.build_csr(seq_list, li, csr);
    kernels::PagedKv kv = cache.pool_view();
    kv.indptr = upload(indptr_, csr.indptr);
    kv.indices = upload(indices_, csr.indices);
    kv.lengths = upload(lengths_, csr.lengths);
    const int32_t* d_slots = upload(slots_, slots);

    backend_.rmsnorm(x, L.attn_norm, T, hidden, c.rms_norm_eps, xn);
    backend_.matmul(xn, T, L.q, L.q_bias, q);
    backend_.matmul(xn, T, L.k, L.k_bias, k);
    backend_.matmul(xn, T, L.v, L.v_bias, v);
    backend_.rope(q, T, H, D, d_pos, inv_freq_, model_.weights.rope_style);
    backend_.rope(k, T, KVH, D, d_pos, inv_freq_, model_.weights.rope_style);
    backend_.kv_write(kv, k, v, T, d_slots, d_pos);
    backend_.paged_attention(ab, q, kv, attn);
    backend_.matmul(attn, T, L.o, L.o_bias, tmp);
    backend_.add(x, tmp, T * hidden);

    backend_.rmsnorm(x, L.ffn_norm, T, hidden, c.rms_norm_eps, xn);
    backend_.matmul(xn, T, L.gate, nullptr, gate);
    backend_.matmul(xn, T, L.up, nullptr, up);
    backend_.swiglu(gate, up, T * c.intermediate_size, gate);
    backend_.matmul(gate, T, L.down, nullptr, tmp);
    backend_.add(x, tmp, T * hidden);
  }

  if (R == 0) {
    check_weights_intact(model_.weights);
    return;
  }
  float* rows = buffer<float>(rows_, static_cast<size_t>(R * hidden));
  for (int64_t r = 0; r < R; ++r) {
    const int64_t src = batch.logit_rows[static_cast<size_t>(r)];
    if (src < 0 || src >= T) fail("forward", "logit row {} is outside the batch of {}", src, T);
    backend_.copy(rows + r * hidden, x + src * hidden, static_cast<size_t>(hidden) * sizeof(float));
  }
  backend_.rmsnorm(rows, final_norm_, R, hidden, c.rms_norm_eps, xn);
  float* d_logits = buffer<float>(logits_, static_cast<size_t>(R * c.vocab_size));
  backend_.matmul(xn, R, lm_head_, nullptr, d_logits);
  // A weight file that shrank under its mapping read as zeros in this pass: stop here, before
  // anyone uses these logits (mapping_guard.h).
  check_weights_intact(model_.weights);
}

}  // namespace kvwb
