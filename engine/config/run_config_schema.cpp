#include "engine/config/run_config_schema.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/config/policy_names.h"
#include "engine/core/error.h"
#include "kernels/kv_dtype.h"

namespace kvwb {
namespace {

// ---- Values as text (flags) -------------------------------------------------------------

template <typename T>
T whole_number(const std::string& text, const std::string& flag) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) fail(flag, "'{}' is not a whole number", text);
  return value;
}

double real_number(const std::string& text, const std::string& flag) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) fail(flag, "'{}' is not a number", text);
  return value;
}

bool truth_value(const std::string& text, const std::string& flag) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  fail(flag, "'{}' is not true or false", text);
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

template <typename T>
T from_text(const std::string& text, const std::string& flag) {
  if constexpr (std::is_same_v<T, std::string>) return text;
  else if constexpr (std::is_same_v<T, bool>) return truth_value(text, flag);
  else if constexpr (std::is_integral_v<T>) return whole_number<T>(text, flag);
  else if constexpr (std::is_floating_point_v<T>) return real_number(text, flag);
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return comma_list(text);
  else static_assert(sizeof(T) == 0, "no text form for this field type");
}

// ---- Codecs: how one field's value reads, writes and parses ------------------------------

Json omitted() { return Json(Json::value_t::discarded); }

// A value always written; null in the JSON keeps the default.
template <typename T>
struct Plain {
  static void read(const Json& v, T& out, const std::string& where, const char* leaf) {
    if (!v.is_null()) out = detail::json_get<T>(v, leaf, where);
  }
  static Json write(const T& v) { return Json(v); }
  static T parse(const std::string& text, const std::string& flag) { return from_text<T>(text, flag); }
};

// An optional value: written only when set.
template <typename T>
struct Optional {
  static void read(const Json& v, std::optional<T>& out, const std::string& where, const char* leaf) {
    if (!v.is_null()) out = detail::json_get<T>(v, leaf, where);
  }
  static Json write(const std::optional<T>& v) { return v ? Json(*v) : omitted(); }
  static std::optional<T> parse(const std::string& text, const std::string& flag) { return from_text<T>(text, flag); }
};

// kv_pool_bytes: bytes, a size ("64MiB") or "auto" (nullopt).
struct PoolBytes {
  static void read(const Json& v, std::optional<int64_t>& out, const std::string& where, const char* leaf) {
    if (v.is_number()) out = json_integer<int64_t>(v, leaf, where);
    else if (v.is_string() && v.get<std::string>() == "auto") out.reset();
    else if (v.is_string()) out = parse_bytes(v.get<std::string>(), where + ": " + leaf);
    else fail(where, "{}: expected bytes, a size such as \"64MiB\", or \"auto\"", leaf);
  }
  static Json write(const std::optional<int64_t>& v) { return v ? Json(*v) : Json("auto"); }
  static std::optional<int64_t> parse(const std::string& text, const std::string& flag) {
    if (text == "auto") return std::nullopt;
    return parse_bytes(text, flag);
  }
};

// A byte count that may be 0: a number or a size ("1GiB"); written as a number.
struct Bytes {
  static void read(const Json& v, int64_t& out, const std::string& where, const char* leaf) {
    if (v.is_number()) out = json_integer<int64_t>(v, leaf, where);
    else if (v.is_string()) out = parse(v.get<std::string>(), where + ": " + leaf);
    else if (!v.is_null()) fail(where, "{}: expected bytes or a size such as \"1GiB\"", leaf);
  }
  static Json write(int64_t v) { return Json(v); }
  static int64_t parse(const std::string& text, const std::string& flag) {
    return text == "0" ? 0 : parse_bytes(text, flag);
  }
};

// A path where "" means none: written as null.
struct NullablePath {
  static void read(const Json& v, std::string& out, const std::string& where, const char* leaf) {
    if (v.is_null()) out.clear();
    else out = detail::json_get<std::string>(v, leaf, where);
  }
  static Json write(const std::string& v) { return v.empty() ? Json(nullptr) : Json(v); }
  static std::string parse(const std::string& text, const std::string&) { return text; }
};

// A path written only when set (older readers never see the key).
struct OmittedWhenEmpty : Plain<std::string> {
  static Json write(const std::string& v) { return v.empty() ? omitted() : Json(v); }
};

template <typename T>
struct DefaultCodec {
  using type = Plain<T>;
};
template <typename T>
struct DefaultCodec<std::optional<T>> {
  using type = Optional<T>;
};

// ---- Rows -----------------------------------------------------------------------------

template <auto... Path>
auto& member(RunConfig& c) {
  return (c .* ... .* Path);
}
template <auto... Path>
const auto& member(const RunConfig& c) {
  return (c .* ... .* Path);
}

template <typename Codec, auto... Path>
ConfigField with_codec(ConfigField f) {
  f.read = [](const Json& v, RunConfig& c, const std::string& where, const char* leaf) {
    Codec::read(v, member<Path...>(c), where, leaf);
  };
  f.write = [](const RunConfig& c) -> Json { return Codec::write(member<Path...>(c)); };
  f.parse = [](const std::string& text, RunConfig& c, const std::string& flag) {
    member<Path...>(c) = Codec::parse(text, flag);
  };
  f.reset = [](RunConfig& c) { member<Path...>(c) = member<Path...>(RunConfig{}); };
  f.copy = [](const RunConfig& from, RunConfig& to) { member<Path...>(to) = member<Path...>(from); };
  return f;
}

template <auto... Path>
ConfigField field(ConfigField f) {
  using T = std::remove_cvref_t<decltype(member<Path...>(std::declval<RunConfig&>()))>;
  return with_codec<typename DefaultCodec<T>::type, Path...>(f);
}

template <const std::string_view&... Items>
std::span<const std::string_view> choices() {
  static const std::string_view kItems[] = {Items...};
  return kItems;
}
constexpr std::string_view kCpu = "cpu", kCuda = "cuda", kStored = "stored", kF32 = "f32", kF16 = "f16",
                           kBf16 = "bf16", kSequence = "sequence", kHead = "head", kL1Sum = "l1-sum",
                           kL1Avg = "l1-avg", kL2Sum = "l2-sum", kL2Avg = "l2-avg", kNone = "none", kWord = "word", kLine = "line",
                           kExact = "exact", kFast = "fast", kQuestion = "question", kHadamard = "hadamard";

// The KV dtypes the kernels store, by name (kernels/kv_dtype.h is the one list).
std::span<const std::string_view> kv_dtype_choices() {
  static const auto names = [] {
    std::array<std::string_view, kernels::kKvDTypes.size()> out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = kernels::kv_dtype_name(kernels::kKvDTypes[i]);
    return out;
  }();
  return names;
}

std::string pool_kernel_rule(const RunConfig& c) {
  const int64_t k = c.policy.pool_kernel;
  return k == 0 || (k >= 1 && k % 2 == 1) ? "" : "must be 0 (the policy's default) or an odd number >= 1";
}

std::string policy_name_rule(const RunConfig& c) {
  return is_policy_name(c.policy.name) ? "" : fmt::format("unknown policy '{}' ({})", c.policy.name, policy_name_list());
}

constexpr Range at_least(double lo) { return Range{.lo = lo}; }
constexpr Range positive() { return Range{.lo = 0, .lo_open = true}; }

// Each row names only what it sets; every other member keeps its default.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
std::vector<ConfigField> make_fields() {
  using P = PolicyConfig;
  using S = SamplingConfig;
  using R = RunConfig;
  const Applies next = Applies::next_start;
  return {
      field<&R::model>({.key = "model", .flag = "model", .short_flag = 'm', .value_name = "TEXT",
                        .help = "Model directory, .gguf file, or shorthand (demo, smollm2)", .applies = next}),
      with_codec<OmittedWhenEmpty, &R::random_weights>(
          {.key = "random_weights", .flag = "random-weights", .value_name = "PATH",
           .help = "HF config.json: a model of its shape with random weights and a byte tokenizer (benchmarks)",
           .applies = next}),
      field<&R::backend>({.key = "backend", .flag = "backend", .value_name = "TEXT", .help = "cpu or cuda",
                          .applies = next, .choices = choices<kCpu, kCuda>}),
      field<&R::weights_dtype>({.key = "weights_dtype", .flag = "weights-dtype", .value_name = "TEXT",
                                .help = "Weights in memory: stored (as in the file; bf16 for --random-weights), f32, f16 or bf16",
                                .applies = next, .choices = choices<kStored, kF32, kBf16, kF16>}),
      field<&R::kv_dtype>({.key = "kv_dtype", .flag = "kv-dtype", .value_name = "TEXT", .unit = "",
                           .help = "KV cache element type: f32, f16, bf16, q8_0, q4_0 (q8_0 and q4_0 store blocks of "
                                   "32 values along head_dim, which must be a multiple of 32)",
                           .applies = next, .choices = kv_dtype_choices}),
      field<&R::kv_rotation>({.key = "kv_rotation", .flag = "kv-rotation", .value_name = "TEXT",
                              .help = "q8_0 and q4_0 KV: none (rows rounded as they are, as llama.cpp does) or "
                                      "hadamard (rows rotated first, spreading large channels over their block; "
                                      "attention unchanged, rounding error smaller)",
                              .applies = next, .choices = choices<kNone, kHadamard>}),
      with_codec<PoolBytes, &R::kv_pool_bytes>({.key = "kv_pool_bytes", .flag = "kv-pool", .value_name = "SIZE",
                                                .unit = "bytes",
                                                .help = "KV cache memory: bytes, a size such as 64MiB, or auto",
                                                .applies = next, .range = positive()}),
      field<&R::kv_pool_auto_fraction>({.key = "kv_pool_auto_fraction", .value_name = "FLOAT",
                                        .help = "Share of available memory after weights when the pool is auto",
                                        .applies = next, .range = Range{.lo = 0, .hi = 0.95, .lo_open = true}}),
      field<&R::block_size>({.key = "block_size", .flag = "block-size", .value_name = "INT", .unit = "tokens",
                             .help = "Tokens per KV block", .applies = next, .range = Range{.lo = 1, .hi = 1024}}),
      field<&R::prefill_chunk>({.key = "prefill_chunk", .flag = "prefill-chunk", .value_name = "INT", .unit = "tokens",
                                .help = "Prompt tokens per sequence per step", .range = at_least(1)}),
      field<&R::max_batch>({.key = "max_batch", .flag = "max-batch", .value_name = "INT", .unit = "sequences",
                            .help = "Most sequences per step", .range = at_least(1)}),
      field<&R::max_tokens_per_step>({.key = "max_tokens_per_step", .flag = "max-tokens-per-step", .value_name = "INT",
                                      .unit = "tokens", .help = "Most tokens per step", .range = at_least(1)}),
      field<&R::threads>({.key = "threads", .flag = "threads", .value_name = "INT",
                          .help = "CPU threads (0 = all cores)", .applies = next, .range = at_least(0)}),
      with_codec<Bytes, &R::weights_cache_bytes>(
          {.key = "weights_cache_bytes", .flag = "weights-cache", .value_name = "SIZE", .unit = "bytes",
           .help = "CPU: memory for f32 copies of converted weights, kept across steps (0 = none)",
           .applies = next, .range = at_least(0)}),
      field<&R::matmul>({.key = "matmul", .flag = "matmul", .value_name = "TEXT",
                         .help = "CPU matmul on Q8_0/Q4_0/Q4_1 weights: exact (f32 activations) or fast (int8 "
                                 "activations per block of 32, integer dot products; changes logits slightly)",
                         .applies = next, .choices = choices<kExact, kFast>}),
      field<&R::policy, &P::name>({.key = "policy.name", .flag = "policy", .value_name = "TEXT",
                                   .help = "Compression policy (full, decode-only, batch-max, kv-compress, ...)",
                                   .choices = policy_names, .rule = policy_name_rule}),
      field<&R::policy, &P::budget_tokens>({.key = "policy.budget_tokens", .flag = "budget-tokens", .value_name = "INT",
                                            .unit = "tokens", .help = "Compression budget in tokens",
                                            .range = at_least(1), .clears = "policy.budget_ratio"}),
      field<&R::policy, &P::budget_ratio>({.key = "policy.budget_ratio", .flag = "budget-ratio", .value_name = "FLOAT",
                                           .help = "Compression budget as a fraction of the context",
                                           .range = Range{.lo = 0, .hi = 1, .lo_open = true},
                                           .clears = "policy.budget_tokens"}),
      field<&R::policy, &P::budget_scope>({.key = "policy.budget_scope", .flag = "budget-scope", .value_name = "TEXT",
                                           .help = "sequence or head", .choices = choices<kSequence, kHead>}),
      field<&R::policy, &P::window>({.key = "policy.window", .flag = "window", .value_name = "INT", .unit = "tokens",
                                     .help = "Observation window (queries that score)", .range = at_least(1)}),
      field<&R::policy, &P::sinks>({.key = "policy.sinks", .flag = "sinks", .value_name = "INT", .unit = "tokens",
                                    .help = "First tokens never evicted", .range = at_least(0)}),
      field<&R::policy, &P::protected_recent>({.key = "policy.protected_recent", .flag = "protected-recent",
                                               .value_name = "INT", .unit = "tokens",
                                               .help = "Last tokens never evicted", .range = at_least(0)}),
      field<&R::policy, &P::decode_interval>({.key = "policy.decode_interval", .flag = "decode-interval",
                                              .value_name = "INT", .unit = "steps",
                                              .help = "Decode steps between evictions", .range = at_least(1)}),
      field<&R::policy, &P::metric>({.key = "policy.metric", .flag = "metric", .value_name = "TEXT",
                                     .help = "kv-compress metric: l1-sum, l1-avg, l2-sum, l2-avg",
                                     .choices = choices<kL1Sum, kL1Avg, kL2Sum, kL2Avg>}),
      field<&R::policy, &P::pool_kernel>({.key = "policy.pool_kernel", .flag = "pool-kernel", .value_name = "INT",
                                          .unit = "tokens", .help = "Pooling width over neighbouring slots (odd; 1 = none)",
                                          .rule = pool_kernel_rule}),
      field<&R::policy, &P::min_head_fraction>({.key = "policy.min_head_fraction", .flag = "min-head-fraction",
                                                .value_name = "FLOAT",
                                                .help = "ada-kv: floor per head, a fraction of the uniform budget",
                                                .range = Range{.lo = 0, .hi = 1}}),
      field<&R::policy, &P::pyramid_beta>({.key = "policy.pyramid_beta", .flag = "pyramid-beta", .value_name = "FLOAT",
                                           .help = "pyramidkv: ratio of the largest to the smallest layer budget",
                                           .range = at_least(1)}),
      field<&R::policy, &P::chunked_prefill>({.key = "policy.chunked_prefill", .flag = "chunked-prefill",
                                              .value_name = "BOOL",
                                              .help = "kv-compress: compress between prefill chunks too (true/false)"}),
      // Live: spans are found per sequence when its policy next evicts, and can only lower what a
      // sequence keeps, so a change between steps needs no new reservation.
      field<&R::policy, &P::span>({.key = "policy.span", .flag = "span", .value_name = "TEXT",
                                   .help = "Evict whole spans: none, word (tokens with no space or punctuation "
                                           "between them) or line",
                                   .choices = choices<kNone, kWord, kLine>}),
      // Live: a chunk is guided or not as the policy stands when it is scheduled, and the
      // reservations are recomputed at every update.
      field<&R::policy, &P::chunk_guidance>(
          {.key = "policy.chunk_guidance", .flag = "chunk-guidance", .value_name = "TEXT",
           .help = "Policies that evict between prefill chunks: none (each chunk's own queries score it) or "
                   "question (the request's question, else the prompt's last window tokens, scores every chunk)",
           .choices = choices<kNone, kQuestion>}),
      field<&R::sampling, &S::temperature>({.key = "sampling.temperature", .flag = "temperature", .value_name = "FLOAT",
                                            .help = "Sampling temperature (0 = greedy)", .range = at_least(0)}),
      field<&R::sampling, &S::top_p>({.key = "sampling.top_p", .flag = "top-p", .value_name = "FLOAT",
                                      .help = "Nucleus sampling mass", .range = Range{.lo = 0, .hi = 1, .lo_open = true}}),
      field<&R::sampling, &S::seed>({.key = "sampling.seed", .flag = "seed", .value_name = "INT", .help = "Sampling seed"}),
      field<&R::workload>({.key = "workload", .flag = "workload", .short_flag = 'w', .value_name = "PATH",
                           .help = "Workload JSONL file", .applies = next}),
      field<&R::max_requests>({.key = "max_requests", .flag = "max-requests", .value_name = "INT", .unit = "requests",
                               .help = "Run only the first N requests", .applies = next, .range = at_least(1)}),
      field<&R::trace_sequences>({.key = "trace_sequences", .flag = "trace-sequences", .value_name = "LIST",
                                  .help = "Request ids whose full eviction maps are reported (default: the first two)",
                                  .applies = next}),
      with_codec<NullablePath, &R::record>({.key = "record", .flag = "record", .value_name = "PATH",
                                            .help = "Session database to record into", .applies = next}),
  };
}
#pragma GCC diagnostic pop

std::string format_number(double v) { return fmt::format("{}", v); }

std::string range_problem(double v, const Range& r) {
  const bool above_lo = r.lo_open ? v > r.lo : v >= r.lo;
  const bool below_hi = r.hi_open ? v < r.hi : v <= r.hi;
  if (above_lo && below_hi) return "";
  if (r.hi >= 1e308) {
    if (r.lo == 0) return r.lo_open ? "must be positive" : "must not be negative";
    return (r.lo_open ? "must be greater than " : "must be at least ") + format_number(r.lo);
  }
  return fmt::format("must be in {}{}, {}{}", r.lo_open ? '(' : '[', format_number(r.lo), format_number(r.hi),
                     r.hi_open ? ')' : ']');
}

std::string choice_problem(const std::string& v, std::span<const std::string_view> allowed) {
  if (std::ranges::find(allowed, v) != allowed.end()) return "";
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) list += i + 1 == allowed.size() ? " or " : ", ";
    list += allowed[i];
  }
  return fmt::format("must be {}, got '{}'", list, v);
}

bool same_value(const Json& a, const Json& b) {
  if (a.is_discarded() || b.is_discarded()) return a.is_discarded() && b.is_discarded();
  return a == b;
}

}  // namespace

std::string_view ConfigField::leaf() const {
  const size_t dot = key.find('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string_view ConfigField::group() const {
  const size_t dot = key.find('.');
  return dot == std::string_view::npos ? std::string_view() : key.substr(0, dot);
}

std::span<const ConfigField> config_fields() {
  static const std::vector<ConfigField> fields = make_fields();
  return fields;
}

const ConfigField* find_config_field(std::string_view key) {
  for (const ConfigField& f : config_fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

const ConfigField& config_field(std::string_view key) {
  const ConfigField* f = find_config_field(key);
  if (f == nullptr) fail(key, "not a run config key");
  return *f;
}

void set_config_field(RunConfig& c, const ConfigField& field, const std::string& text, const std::string& flag) {
  field.parse(text, c, flag);
  if (!field.clears.empty()) config_field(field.clears).reset(c);
}

std::string config_field_problem(const RunConfig& c, const ConfigField& field) {
  const Json v = field.write(c);
  if (field.range && v.is_number()) {
    std::string p = range_problem(v.get<double>(), *field.range);
    if (!p.empty()) return p;
  }
  // A field with its own rule words its own message (policy.name lists the registry).
  if (field.rule) return field.rule(c);
  if (field.choices && v.is_string()) return choice_problem(v.get<std::string>(), field.choices());
  return "";
}

std::vector<const ConfigField*> changed_fields(const RunConfig& a, const RunConfig& b) {
  std::vector<const ConfigField*> out;
  for (const ConfigField& f : config_fields()) {
    if (!same_value(f.write(a), f.write(b))) out.push_back(&f);
  }
  return out;
}

LiveChange apply_live_changes(const RunConfig& running, const RunConfig& requested) {
  LiveChange change{running, {}};
  for (const ConfigField* f : changed_fields(running, requested)) {
    if (f->applies == Applies::next_start) {
      change.deferred.push_back(f);
      continue;
    }
    f->copy(requested, change.applied);
  }
  return change;
}

}  // namespace kvwb
