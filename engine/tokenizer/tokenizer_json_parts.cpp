#include "engine/tokenizer/tokenizer_json_parts.h"

#include "engine/core/error.h"
#include "engine/tokenizer/utf8.h"

namespace kvwb {
namespace {

std::string type_of(const Json& spec, const std::string& where) {
  if (!spec.is_object()) fail(where, "expected an object, found {}", spec.type_name());
  return json_required<std::string>(spec, "type", where);
}

// {"String": "..."} or {"Regex": "..."}.
Pattern read_pattern(const Json& spec, const std::string& where) {
  const Json& p = spec.contains("pattern") ? spec.at("pattern") : Json();
  if (p.is_object() && p.contains("String") && p.at("String").is_string()) {
    return Pattern::literal(p.at("String").get<std::string>());
  }
  if (p.is_object() && p.contains("Regex") && p.at("Regex").is_string()) {
    return Pattern::regex(p.at("Regex").get<std::string>(), where + ".pattern");
  }
  fail(where, "pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}");
}

PrependScheme read_prepend_scheme(const Json& spec, const std::string& where) {
  // Files older than tokenizers 0.14 have add_prefix_space instead of prepend_scheme.
  const auto legacy = json_optional<bool>(spec, "add_prefix_space", true, where);
  const auto scheme = json_optional<std::string>(spec, "prepend_scheme", legacy ? "always" : "never", where);
  if (scheme == "always") return PrependScheme::Always;
  if (scheme == "first") return PrependScheme::First;
  if (scheme == "never") return PrependScheme::Never;
  fail(where, "prepend_scheme '{}' is not one of first, always, never", scheme);
}

std::string read_replacement(const Json& spec, const std::string& where) {
  const auto r = json_optional<std::string>(spec, "replacement", "\xE2\x96\x81", where);  // "▁"
  const utf8::Char c = r.empty() ? utf8::Char{} : utf8::next(r, 0);
  if (!c.valid || c.size != r.size()) fail(where, "replacement must be one character, got '{}'", r);
  return r;
}

SplitBehavior read_behavior(const Json& spec, const std::string& where) {
  const auto b = json_required<std::string>(spec, "behavior", where);
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  fail(where, "unknown split behavior '{}'", b);
}

const Json& required_array(const Json& spec, const char* key, const std::string& where) {
  if (!spec.contains(key) || !spec.at(key).is_array()) fail(where, "'{}' must be an array", key);
  return spec.at(key);
}

}  // namespace

BpeModelSpec read_bpe_model(const Json& model, const std::string& path) {
  const std::string where = path + ": model";
  if (!model.is_object()) fail(path, "'model' must be an object");
  // Very old files have no "type"; vocab + merges mean BPE.
  const std::string type = model.contains("type") ? json_required<std::string>(model, "type", where)
                           : model.contains("merges") ? "BPE" : "";
  if (type != "BPE") {
    fail(path, "model type '{}' is not supported (kvwb reads BPE tokenizers only)", type.empty() ? "?" : type);
  }
  BpeModelSpec spec;
  if (!model.contains("vocab") || !model.at("vocab").is_object()) fail(where, "'vocab' must be an object");
  spec.vocab.reserve(model.at("vocab").size());
  for (const auto& [token, id] : model.at("vocab").items()) {
    if (!id.is_number_integer()) fail(where, "vocab['{}'] must be an integer id", token);
    const auto value = json_integer<int64_t>(id, fmt::format("vocab['{}']", token), where);
    if (value < 0 || value > INT32_MAX) fail(where, "vocab['{}'] has an invalid id {}", token, value);
    spec.vocab.emplace_back(token, static_cast<int32_t>(value));
  }
  const Json& merges = required_array(model, "merges", where);
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& m = merges[i];
    if (m.is_string()) {
      const auto s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        fail(where, "merges[{}] '{}' is not two tokens separated by one space", i, s);
      }
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail(where, "merges[{}] must be \"a b\" or [\"a\", \"b\"]", i);
    }
  }
  spec.unk_token = json_optional<std::string>(model, "unk_token", "", where);
  spec.byte_fallback = json_optional<bool>(model, "byte_fallback", false, where);
  spec.fuse_unk = json_optional<bool>(model, "fuse_unk", false, where);
  spec.ignore_merges = json_optional<bool>(model, "ignore_merges", false, where);
  spec.continuing_subword_prefix = json_optional<std::string>(model, "continuing_subword_prefix", "", where);
  spec.end_of_word_suffix = json_optional<std::string>(model, "end_of_word_suffix", "", where);
  // `dropout` only matters for training-time subword regularisation: inference ignores it.
  return spec;
}

std::vector<AddedToken> read_added_tokens(const Json& added, const std::string& path) {
  std::vector<AddedToken> tokens;
  if (added.is_null()) return tokens;
  if (!added.is_array()) fail(path, "'added_tokens' must be an array");
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string where = fmt::format("{}: added_tokens[{}]", path, i);
    AddedToken t;
    const auto id = json_required<int64_t>(added[i], "id", where);
    if (id < 0 || id > INT32_MAX) fail(where, "invalid id {}", id);
    t.id = static_cast<int32_t>(id);
    t.content = json_required<std::string>(added[i], "content", where);
    t.special = json_optional<bool>(added[i], "special", false, where);
    t.normalized = json_optional<bool>(added[i], "normalized", !t.special, where);
    t.lstrip = json_optional<bool>(added[i], "lstrip", false, where);
    t.rstrip = json_optional<bool>(added[i], "rstrip", false, where);
    t.single_word = json_optional<bool>(added[i], "single_word", false, where);
    tokens.push_back(std::move(t));
  }
  return tokens;
}

void read_normalizer(const Json& spec, const std::string& where, Normalizer& out) {
  if (spec.is_null()) return;
  const std::string type = type_of(spec, where);
  if (type == "Sequence") {
    const Json& list = required_array(spec, "normalizers", where);
    for (size_t i = 0; i < list.size(); ++i) read_normalizer(list[i], fmt::format("{}.normalizers[{}]", where, i), out);
  } else if (type == "Prepend") {
    out.add_prepend(json_required<std::string>(spec, "prepend", where));
  } else if (type == "Replace") {
    out.add_replace(read_pattern(spec, where), json_required<std::string>(spec, "content", where));
  } else if (type == "Strip") {
    out.add_strip(json_optional<bool>(spec, "strip_left", true, where), json_optional<bool>(spec, "strip_right", true, where));
  } else if (type == "NFC") {
    out.add_nfc();
  } else {
    fail(where, "normalizer type '{}' is not supported (supported: Sequence, Prepend, Replace, Strip, NFC)", type);
  }
}

void read_pre_tokenizer(const Json& spec, const std::string& where, PreTokenizer& out) {
  if (spec.is_null()) return;
  const std::string type = type_of(spec, where);
  if (type == "Sequence") {
    const Json& list = required_array(spec, "pretokenizers", where);
    for (size_t i = 0; i < list.size(); ++i) read_pre_tokenizer(list[i], fmt::format("{}.pretokenizers[{}]", where, i), out);
  } else if (type == "Split") {
    out.add_split(read_pattern(spec, where), read_behavior(spec, where), json_optional<bool>(spec, "invert", false, where));
  } else if (type == "ByteLevel") {
    out.add_byte_level(json_optional<bool>(spec, "add_prefix_space", true, where),
                       json_optional<bool>(spec, "use_regex", true, where));
  } else if (type == "Metaspace") {
    out.add_metaspace(read_replacement(spec, where), read_prepend_scheme(spec, where),
                      json_optional<bool>(spec, "split", true, where));
  } else if (type == "Digits") {
    out.add_digits(json_optional<bool>(spec, "individual_digits", false, where));
  } else {
    fail(where, "pre-tokenizer type '{}' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, Digits)",
         type);
  }
}

void read_decoder(const Json& spec, const std::string& where, Decoder& out) {
  if (spec.is_null()) return;
  const std::string type = type_of(spec, where);
  if (type == "Sequence") {
    const Json& list = required_array(spec, "decoders", where);
    for (size_t i = 0; i < list.size(); ++i) read_decoder(list[i], fmt::format("{}.decoders[{}]", where, i), out);
  } else if (type == "Replace") {
    out.add_replace(read_pattern(spec, where), json_required<std::string>(spec, "content", where));
  } else if (type == "ByteFallback") {
    out.add_byte_fallback();
  } else if (type == "Fuse") {
    out.add_fuse();
  } else if (type == "Strip") {
    const auto content = json_required<std::string>(spec, "content", where);
    const utf8::Char c = content.empty() ? utf8::Char{} : utf8::next(content, 0);
    if (!c.valid || c.size != content.size()) fail(where, "Strip content must be one character, got '{}'", content);
    const auto start = json_optional<int64_t>(spec, "start", 0, where);
    const auto stop = json_optional<int64_t>(spec, "stop", 0, where);
    if (start < 0 || stop < 0) fail(where, "Strip start/stop must not be negative");
    out.add_strip(c.code, static_cast<size_t>(start), static_cast<size_t>(stop));
  } else if (type == "ByteLevel") {
    out.add_byte_level();
  } else if (type == "Metaspace") {
    out.add_metaspace(read_replacement(spec, where), read_prepend_scheme(spec, where));
  } else {
    fail(where, "decoder type '{}' is not supported (supported: Sequence, Replace, ByteFallback, Fuse, Strip, "
         "ByteLevel, Metaspace)", type);
  }
}

int32_t read_template_bos(const Json& spec, const std::string& where) {
  if (!spec.is_object()) return -1;
  const auto type = json_optional<std::string>(spec, "type", "", where);
  if (type == "Sequence") {
    const Json& list = required_array(spec, "processors", where);
    for (size_t i = 0; i < list.size(); ++i) {
      const int32_t id = read_template_bos(list[i], fmt::format("{}.processors[{}]", where, i));
      if (id >= 0) return id;
    }
    return -1;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {  // cls: ["<s>", 0]
    const Json& cls = spec.contains("cls") ? spec.at("cls") : Json();
    if (!cls.is_array() || cls.size() != 2 || !cls[1].is_number_integer()) fail(where, "'cls' must be [token, id]");
    return json_integer<int32_t>(cls[1], "cls[1]", where);
  }
  if (type != "TemplateProcessing") return -1;  // ByteLevel and others add no tokens
  const Json& single = required_array(spec, "single", where);
  if (single.empty() || !single[0].is_object() || !single[0].contains("SpecialToken")) return -1;
  const auto name = json_required<std::string>(single[0].at("SpecialToken"), "id", where + ".single[0].SpecialToken");
  const Json& specials = spec.contains("special_tokens") ? spec.at("special_tokens") : Json();
  if (!specials.is_object() || !specials.contains(name)) fail(where, "special token '{}' is not in special_tokens", name);
  const Json& ids = specials.at(name).contains("ids") ? specials.at(name).at("ids") : Json();
  if (!ids.is_array() || ids.empty() || !ids[0].is_number_integer()) fail(where, "special_tokens['{}'].ids must list ids", name);
  return json_integer<int32_t>(ids[0], fmt::format("special_tokens['{}'].ids[0]", name), where);
}

}  // namespace kvwb
