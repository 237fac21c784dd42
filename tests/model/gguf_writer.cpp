#include "tests/model/gguf_writer.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace kvwb::test {
namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void put_value(std::vector<uint8_t>& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::U8: put<uint8_t>(out, static_cast<uint8_t>(std::get<uint64_t>(v.value))); break;
    case GgufType::U16: put<uint16_t>(out, static_cast<uint16_t>(std::get<uint64_t>(v.value))); break;
    case GgufType::U32: put<uint32_t>(out, static_cast<uint32_t>(std::get<uint64_t>(v.value))); break;
    case GgufType::U64: put<uint64_t>(out, std::get<uint64_t>(v.value)); break;
    case GgufType::I8: put<int8_t>(out, static_cast<int8_t>(std::get<int64_t>(v.value))); break;
    case GgufType::I16: put<int16_t>(out, static_cast<int16_t>(std::get<int64_t>(v.value))); break;
    case GgufType::I32: put<int32_t>(out, static_cast<int32_t>(std::get<int64_t>(v.value))); break;
    case GgufType::I64: put<int64_t>(out, std::get<int64_t>(v.value)); break;
    case GgufType::F32: put<float>(out, static_cast<float>(std::get<double>(v.value))); break;
    case GgufType::F64: put<double>(out, std::get<double>(v.value)); break;
    case GgufType::Bool: put<uint8_t>(out, std::get<bool>(v.value) ? 1 : 0); break;
    case GgufType::String: put_string(out, std::get<std::string>(v.value)); break;
    case GgufType::Array: {
      const GgufArray& a = std::get<GgufArray>(v.value);
      put<uint32_t>(out, static_cast<uint32_t>(a.element_type));
      put<uint64_t>(out, a.items.size());
      for (const GgufValue& item : a.items) put_value(out, item);
      break;
    }
  }
}

void pad_to(std::vector<uint8_t>& out, uint64_t alignment) {
  while (out.size() % alignment != 0) out.push_back(0);
}

}  // namespace

GgufValue gguf_u32(uint32_t v) { return {GgufType::U32, uint64_t{v}}; }
GgufValue gguf_i32(int32_t v) { return {GgufType::I32, int64_t{v}}; }
GgufValue gguf_f32(float v) { return {GgufType::F32, double{v}}; }
GgufValue gguf_bool(bool v) { return {GgufType::Bool, v}; }
GgufValue gguf_str(std::string v) { return {GgufType::String, std::move(v)}; }

GgufValue gguf_strings(const std::vector<std::string>& v) {
  GgufArray a;
  a.element_type = GgufType::String;
  for (const std::string& s : v) a.items.push_back(gguf_str(s));
  return {GgufType::Array, std::move(a)};
}

GgufValue gguf_i32s(const std::vector<int32_t>& v) {
  GgufArray a;
  a.element_type = GgufType::I32;
  for (int32_t i : v) a.items.push_back(gguf_i32(i));
  return {GgufType::Array, std::move(a)};
}

GgufBuilder::GgufBuilder(const GgufFile& file) : version(file.version()), alignment(file.alignment()) {
  // GgufFile keeps metadata sorted by key; the order of keys does not matter to readers.
  for (const auto& [key, value] : file.metadata()) metadata.emplace_back(key, value);
  for (const GgufTensorInfo& t : file.tensors()) {
    tensors.push_back({t.name, t.dims, t.ggml_type, std::vector<uint8_t>(t.data, t.data + t.nbytes), -1});
  }
}

void GgufBuilder::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata.emplace_back(key, std::move(value));
}

void GgufBuilder::remove(const std::string& key) {
  std::erase_if(metadata, [&](const auto& kv) { return kv.first == key; });
}

GgufTensorSpec& GgufBuilder::tensor(const std::string& name) {
  for (GgufTensorSpec& t : tensors)
    if (t.name == name) return t;
  throw std::runtime_error("test GGUF has no tensor " + name);
}

void GgufBuilder::remove_tensor(const std::string& name) {
  std::erase_if(tensors, [&](const GgufTensorSpec& t) { return t.name == name; });
}

std::vector<uint8_t> GgufBuilder::bytes() const {
  std::vector<uint8_t> out{'G', 'G', 'U', 'F'};
  put<uint32_t>(out, version);
  put<uint64_t>(out, tensors.size());
  put<uint64_t>(out, metadata.size());
  for (const auto& [key, value] : metadata) {
    put_string(out, key);
    put<uint32_t>(out, static_cast<uint32_t>(value.type));
    put_value(out, value);
  }
  std::vector<uint64_t> offsets;
  uint64_t next = 0;
  for (const GgufTensorSpec& t : tensors) {
    const uint64_t offset = t.offset >= 0 ? static_cast<uint64_t>(t.offset) : next;
    offsets.push_back(offset);
    next = (offset + t.bytes.size() + alignment - 1) / alignment * alignment;
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensorSpec& t = tensors[i];
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) put<uint64_t>(out, static_cast<uint64_t>(d));
    put<uint32_t>(out, t.ggml_type);
    put<uint64_t>(out, offsets[i]);
  }
  pad_to(out, alignment);
  const size_t data_start = out.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (out.size() < data_start + offsets[i]) out.resize(data_start + offsets[i], 0);
    const size_t at = data_start + offsets[i];
    if (out.size() < at + tensors[i].bytes.size()) out.resize(at + tensors[i].bytes.size(), 0);
    // An empty tensor has no bytes (data() may be null, which memcpy must not get).
    if (!tensors[i].bytes.empty()) std::memcpy(out.data() + at, tensors[i].bytes.data(), tensors[i].bytes.size());
  }
  return out;
}

void GgufBuilder::write(const std::string& path) const { write_bytes(path, bytes()); }

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace kvwb::test
