#include "engine/tokenizer/special_ids.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "engine/core/error.h"
#include "engine/core/json_file.h"

namespace kvwb {
namespace {

std::optional<Json> read_side_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  Json j = read_json_file(path.string());
  if (!j.is_object()) fail(path.string(), "expected a JSON object");
  return j;
}

// tokenizer_config.json spells a token as a string or as {"content": ...}; null means none.
int32_t config_token_id(const Json& config, const char* key, const Tokenizer& tok, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return -1;
  std::string content;
  if (it->is_string()) {
    content = it->get<std::string>();
  } else if (it->is_object() && it->contains("content") && it->at("content").is_string()) {
    content = it->at("content").get<std::string>();
  } else {
    fail(where, "'{}' must be a string or an object with 'content'", key);
  }
  const int32_t id = tok.token_id(content);
  if (id < 0) fail(where, "{} '{}' is not in the vocabulary", key, content);
  return id;
}

void check_id(int64_t id, const char* key, const Tokenizer& tok, const std::string& where) {
  if (id < 0 || id >= tok.vocab_size()) {
    fail(where, "{} {} is outside the vocabulary ({} tokens)", key, id, tok.vocab_size());
  }
}

// bos_token_id / eos_token_id: an integer, a list of integers, or null.
std::vector<int32_t> config_ids(const Json& config, const char* key, const Tokenizer& tok, const std::string& where) {
  std::vector<int32_t> ids;
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return ids;
  const Json list = it->is_array() ? *it : Json::array({*it});
  for (const Json& v : list) {
    if (!v.is_number_integer()) fail(where, "'{}' must be an integer or a list of integers", key);
    const int64_t id = json_integer<int64_t>(v, key, where);
    check_id(id, key, tok, where);
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

void add_unique(std::vector<int32_t>& to, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
  }
}

}  // namespace

SpecialTokenIds resolve_special_ids(const std::string& tokenizer_json_path, const SpecialIdHints& hints,
                                    const TokenizerDefaults& defaults, const Tokenizer& tok) {
  const std::filesystem::path dir = std::filesystem::path(tokenizer_json_path).parent_path();
  const std::string tc_path = (dir / "tokenizer_config.json").string();
  const std::string gc_path = (dir / "generation_config.json").string();
  const std::string mc_path = (dir / "config.json").string();
  const std::optional<Json> tc = read_side_file(tc_path);
  const std::optional<Json> gc = read_side_file(gc_path);
  const std::optional<Json> mc = read_side_file(mc_path);

  // BOS candidates, most authoritative first.
  std::vector<int32_t> bos;
  if (hints.template_bos >= 0) {
    check_id(hints.template_bos, "post_processor BOS", tok, tokenizer_json_path);
    bos.push_back(hints.template_bos);
  }
  if (tc) bos.push_back(config_token_id(*tc, "bos_token", tok, tc_path));
  if (gc) add_unique(bos, config_ids(*gc, "bos_token_id", tok, gc_path));
  if (mc) add_unique(bos, config_ids(*mc, "bos_token_id", tok, mc_path));
  if (defaults.bos_id >= 0) {
    check_id(defaults.bos_id, "default bos_id", tok, tokenizer_json_path);
    bos.push_back(defaults.bos_id);
  }

  SpecialTokenIds out;
  for (int32_t id : bos) {
    if (id >= 0) {
      out.bos_id = id;
      break;
    }
  }
  // Every EOS any file names: generation must stop at each of them.
  if (tc) {
    const int32_t eos = config_token_id(*tc, "eos_token", tok, tc_path);
    if (eos >= 0) out.eos_ids.push_back(eos);
  }
  if (gc) add_unique(out.eos_ids, config_ids(*gc, "eos_token_id", tok, gc_path));
  if (mc) add_unique(out.eos_ids, config_ids(*mc, "eos_token_id", tok, mc_path));
  for (int32_t id : defaults.eos_ids) check_id(id, "default eos id", tok, tokenizer_json_path);
  add_unique(out.eos_ids, defaults.eos_ids);

  bool add_bos = hints.template_bos >= 0 || hints.sentencepiece_family;
  if (tc && tc->contains("add_bos_token") && !tc->at("add_bos_token").is_null()) {
    if (!tc->at("add_bos_token").is_boolean()) fail(tc_path, "'add_bos_token' must be true or false");
    add_bos = tc->at("add_bos_token").get<bool>();
  }
  out.add_bos_by_default = add_bos && out.bos_id >= 0;
  return out;
}

}  // namespace kvwb
