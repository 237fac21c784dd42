// One safetensors file: validate the header completely before any tensor byte is touched.
#include "engine/model/safetensors.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/json_file.h"

namespace kvwb {
namespace {

struct DTypeSize {
  std::string_view name;
  size_t bytes;
};

// The dtypes of the safetensors specification that have whole-byte elements.
constexpr DTypeSize kDTypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
    {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},
    {"F64", 8},  {"I64", 8}, {"U64", 8},
};

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A JSON integer >= 0 (nlohmann stores those as unsigned).
uint64_t non_negative(const Json& v, const std::string& where, const char* what) {
  if (!v.is_number_unsigned()) fail(where, "{} must be non-negative integers, got {}", what, v.dump());
  return v.get<uint64_t>();
}

struct Span {
  uint64_t begin, end;
  const std::string* name;
};

}  // namespace

size_t safetensors_dtype_size(std::string_view dtype) {
  for (const DTypeSize& d : kDTypes)
    if (d.name == dtype) return d.bytes;
  return 0;
}

std::optional<kernels::DType> safetensors_weight_dtype(std::string_view dtype) {
  if (dtype == "F32") return kernels::DType::F32;
  if (dtype == "F16") return kernels::DType::F16;
  if (dtype == "BF16") return kernels::DType::BF16;
  return std::nullopt;
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const size_t size = file_.size();
  if (size < 8) fail(path, "file is {} bytes, too short for a safetensors header", size);
  const uint64_t header_len = read_le_u64(file_.data());
  // The format caps the header (safetensors' MAX_HEADER_SIZE): a larger length is garbage,
  // and reading it would copy gigabytes before failing.
  constexpr uint64_t kMaxHeader = 100'000'000;
  if (header_len > kMaxHeader && header_len <= size - 8)
    fail(path, "header length {} exceeds the format's limit of {} bytes", header_len, kMaxHeader);
  if (header_len > size - 8)
    fail(path, "header length {} runs past the end of the file ({} bytes); truncated or not safetensors",
         header_len, size);
  const std::string text(reinterpret_cast<const char*>(file_.data() + 8), header_len);
  const Json header = parse_json(text, path + " (safetensors header)");
  if (!header.is_object()) fail(path, "safetensors header is not a JSON object");

  const uint8_t* data = file_.data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "'__metadata__' must be an object of strings");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) fail(path, "'__metadata__' entry '{}' is not a string", m.key());
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = fmt::format("{}: tensor '{}'", path, name);
    if (!entry.is_object()) fail(where, "header entry is not an object");
    SafetensorsTensor t;
    t.dtype = json_required<std::string>(entry, "dtype", where);
    const size_t elem = safetensors_dtype_size(t.dtype);
    if (elem == 0) fail(where, "unknown dtype '{}'", t.dtype);

    auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) fail(where, "missing or malformed 'shape' (a list)");
    uint64_t expected_bytes = elem;
    for (const Json& d : *shape) {
      const uint64_t dim = non_negative(d, where, "shape dimensions");
      if (__builtin_mul_overflow(expected_bytes, dim, &expected_bytes) || dim > INT64_MAX)
        fail(where, "shape {} is too large", shape->dump());
      t.shape.push_back(static_cast<int64_t>(dim));
    }

    auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
      fail(where, "missing or malformed 'data_offsets' (a list [begin, end])");
    const uint64_t begin = non_negative((*offsets)[0], where, "data_offsets");
    const uint64_t end = non_negative((*offsets)[1], where, "data_offsets");
    if (end < begin) fail(where, "data_offsets [{}, {}] end before they begin", begin, end);
    if (end > data_size)
      fail(where, "data_offsets [{}, {}] run past the end of the data ({} bytes); the file is truncated or corrupt",
           begin, end, data_size);
    if (end - begin != expected_bytes)
      fail(where, "data_offsets [{}, {}] span {} bytes but shape {} of {} needs {}", begin, end, end - begin,
           format_shape(t.shape), t.dtype, expected_bytes);
    t.data = data + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    auto [slot, inserted] = tensors_.emplace(name, std::move(t));
    spans.push_back({begin, end, &slot->first});
  }

  // Two tensors must never share bytes (writers lay them out back to back).
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  const Span* last = nullptr;
  for (const Span& s : spans) {
    if (s.begin == s.end) continue;
    if (last != nullptr && s.begin < last->end)
      fail(path, "tensors '{}' and '{}' overlap (bytes [{}, {}) and [{}, {}))", *last->name, *s.name, last->begin,
           last->end, s.begin, s.end);
    if (last == nullptr || s.end > last->end) last = &s;
  }
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace kvwb
